"""Scheduler high availability on PostgreSQL: two `vigil scheduler` processes share the job store and
the lease in one real database; the leader is SIGKILLed and the standby takes over within the
lease time, and no run of the watch is published twice.

PostgreSQL is the local stack's (``vigil stack up --with postgres``, started by the ``postgres``
fixture if needed); the test gets a database of its own. Crawl jobs go to the test's own topic on
the single-node Kafka.
"""

from __future__ import annotations

import json
import time

import pytest
import yaml
from sqlalchemy import select

from scheduler.lease import leases_table
from scheduler.service import JOBS_TABLE, LEASE_NAME
from scheduler.watches import engine_for
from tests.helpers import FIRST_OUTPUT, wait_for
from tests.integration.test_monitoring import Process, configure, crawl_jobs

pytestmark = pytest.mark.integration

LEASE_SECONDS = 3.0
SYNC_SECONDS = 0.5


def runs_published_by(process: Process) -> list[int]:
    """The run numbers this scheduler published (its JSON log); each was claimed on the watch."""
    entries = (
        json.loads(line) for line in process.log_path.read_text(errors="replace").splitlines() if line.startswith("{")
    )
    return [entry["run"] for entry in entries if entry.get("event") == "crawl job published"]


@pytest.mark.timeout(480)
def test_standby_takes_over_from_a_killed_leader_on_postgresql(
    vigil_env, tmp_path, postgres_url, processes  # noqa: F811 - the fixture imported above
):
    # (postgres_url before processes: the schedulers stop before their database is dropped)
    configure(
        vigil_env,
        tmp_path,
        scheduler={"jobstore_url": postgres_url, "lease_seconds": LEASE_SECONDS, "sync_seconds": SYNC_SECONDS},
    )
    site = {"id": "quiet-board", "start_urls": ["http://127.0.0.1:9/"], "ads": {"url_regex": "/ad/", "id_regex": r"/ad/(\d+)"}}
    (tmp_path / "profiles" / "quiet-board.yaml").write_text(yaml.safe_dump(site))
    added = vigil_env.run("watch", "add", "quiet-board", "--every", "2s")
    assert added.returncode == 0, added.stderr

    engine = engine_for(postgres_url)

    def lease() -> tuple[str, float] | None:
        with engine.connect() as conn:
            row = conn.execute(
                select(leases_table.c.holder, leases_table.c.acquired_at).where(leases_table.c.name == LEASE_NAME)
            ).first()
        return (row.holder, row.acquired_at) if row else None

    # Both start at once: they race to create the tables and for the lease.
    schedulers = [Process(vigil_env, f"scheduler-{i}", "scheduler") for i in (1, 2)]
    processes.extend(schedulers)
    by_pid = {str(s.process.pid): s for s in schedulers}
    assert wait_for(lambda: len(crawl_jobs(vigil_env.settings)) >= 3, timeout=FIRST_OUTPUT, interval=0.5), "\n".join(
        s.tail() for s in schedulers
    )
    holder, _ = lease()
    leader = by_pid[holder.split(":")[1]]
    standby = next(s for s in schedulers if s is not leader)
    with engine.connect() as conn:
        stored = conn.execute(select(leases_table.c.name).select_from(leases_table)).all()
        jobs_in_store = conn.exec_driver_sql(f"SELECT id FROM {JOBS_TABLE}").all()
    assert [r.name for r in stored] == [LEASE_NAME] and [r.id for r in jobs_in_store] == ["quiet-board"]

    # Kill the leader just after it published a run, so no run is half-claimed at the kill.
    seen = len(crawl_jobs(vigil_env.settings))
    assert wait_for(lambda: len(crawl_jobs(vigil_env.settings)) > seen, timeout=10, interval=0.1)
    assert not runs_published_by(standby), "the standby published while the leader held the lease"
    leader.kill9()
    killed_at = time.time()
    before = crawl_jobs(vigil_env.settings)

    assert wait_for(lambda: lease()[0] != holder, timeout=LEASE_SECONDS * 4, interval=0.1), standby.tail()
    new_holder, acquired_at = lease()
    assert new_holder.split(":")[1] == str(standby.process.pid)
    takeover = acquired_at - killed_at
    assert takeover <= LEASE_SECONDS + SYNC_SECONDS + 1.0, f"takeover took {takeover:.1f} s"
    assert wait_for(lambda: len(crawl_jobs(vigil_env.settings)) >= len(before) + 3, timeout=30, interval=0.5)

    assert vigil_env.run("watch", "pause", "quiet-board").returncode == 0
    assert wait_for(lambda: standby.log_path.read_text().count('"watch paused"') == 1, timeout=10)
    published = crawl_jobs(vigil_env.settings)
    assert len({j.job_id for j in published}) == len(published)
    # Run numbers, not time gaps: right after a takeover the new leader publishes the missed run
    # and then the next one on the watch's grid, which may be well under an interval apart.
    runs = sorted(runs_published_by(leader) + runs_published_by(standby))
    assert runs == list(range(1, len(published) + 1)), f"a run was published twice, or never: {runs}"
    state = json.loads(vigil_env.run("watch", "list", "--json").stdout.splitlines()[0])
    assert state["runs"] == len(published), "the watch's run count and the runs on the topic differ"
    first_after = next(j for j in published if j.requested_at.timestamp() > killed_at)
    print(
        f"\nscheduler HA on PostgreSQL: {len(published)} runs, none twice; lease taken over "
        f"{takeover:.2f} s after the leader's SIGKILL (lease {LEASE_SECONDS:.0f} s); first run by the new "
        f"leader {first_after.requested_at.timestamp() - killed_at:.2f} s after the kill"
    )
    engine.dispose()
