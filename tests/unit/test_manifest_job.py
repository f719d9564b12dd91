"""The scheduler's leader writes the evidence manifests: one APScheduler job, kept across watch
syncs, run on taking the lead and a few minutes after each period's end, and writing nothing
without the lease."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest

from scheduler.service import MANIFEST_JOB, SchedulerService
from tests.warc_samples import write_warc
from vigil.core.config import Settings
from vigil.core.custody import manifests_in
from vigil.core.evidence import open_store


@pytest.fixture
def service(tmp_path, monkeypatch):
    for name in ("VIGIL_HOME", "VIGIL_EVIDENCE_SIGNING_KEY", "VIGIL_EVIDENCE_STORE", "VIGIL_SCHEDULER_JOBSTORE_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(home=tmp_path, profiles_dir=tmp_path / "profiles")
    service = SchedulerService(settings, holder="test")
    service.scheduler.start(paused=True)
    yield service
    service.scheduler.shutdown(wait=False)


def test_one_manifest_job_survives_watch_syncs(service):
    service.sync()
    service.sync()
    (job,) = service.scheduler.get_jobs()
    assert job.id == MANIFEST_JOB and job.next_run_time <= datetime.now(UTC)  # catch up on taking the lead
    after = job.trigger.get_next_fire_time(None, datetime(2026, 12, 1, 17, 0, tzinfo=UTC))
    assert after == datetime(2026, 12, 2, 0, 5, tzinfo=UTC)


def test_only_the_lease_holder_writes_manifests(service):
    store = open_store(service.settings)
    write_warc(store, "warc/old.warc.gz", {"http://a/": b"a"})
    old = (datetime.now(UTC) - timedelta(days=2)).timestamp()
    os.utime(store.root / "warc/old.warc.gz", (old, old))
    service.write_manifests()
    assert manifests_in(store) == []
    assert service.lease.acquire()
    service.write_manifests()
    assert len(manifests_in(store)) >= 2  # the old object's day and the day after, both ended
