"""Scale-out on the real stack: two crawl workers and two enrich workers share their consumer groups;
one of each is SIGKILLed mid-run and the survivors must take over its partitions.

"Indexed exactly once" means: one document per ad, and each ad's ``seen_count`` equals the number
of distinct raw records (fetches) published for it. A re-delivered record (the killed enrich
worker's uncommitted batch) must not count again; a crawl job re-run by the survivor (the killed
crawl worker's uncommitted job) fetches its pages again and publishes NEW records, so those ads are
legitimately seen twice. Counting against the raw-pages topic makes the assertion exact for both.

A SIGKILLed crawl worker's crawl subprocesses must die with it (crawlers/worker.py asks
the kernel for that), so that no orphan goes on publishing while the survivor re-runs the job.

Failover time is dominated by the consumer session timeout (``kafka.session_timeout_ms``, 10 s by
default): a SIGKILLed member is only evicted when it expires.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import yaml

from tests.conftest import vigil_executable
from tests.fixture_site import FixtureSite
from tests.helpers import free_port, wait_for
from tests.integration.test_crawl import board_profile, with_config, write_profile
from vigil.core.records import CrawlJob

pytestmark = pytest.mark.integration

JOBS = 20
MIN_PARTITIONS = 4
CATEGORIES = ["escorts", "jobs", "us-escorts"]


def _running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def children(pid: int) -> list[int]:
    """Direct children of ``pid``, read from /proc (the crawl subprocesses of a crawl worker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def duplicates(port: int) -> int:
    """Records a worker recognised as re-deliveries (its ``duplicate`` outcome counter)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    found = re.search(r'^vigil_enrich_records_total\{outcome="duplicate"\} ([0-9.]+)$', text, re.M)
    return int(float(found.group(1))) if found else 0


class WorkerProcess:
    """One `vigil worker ROLE` subprocess; its JSON log lines go to a file."""

    def __init__(self, role: str, env: dict[str, str], log: Path, *args: str):
        self.role = role
        self.log_path = log
        self._log = open(log, "ab")  # noqa: SIM115 - closed in stop()/kill()
        self.process = subprocess.Popen(
            [vigil_executable(), "worker", role, *args], env=env, stdout=self._log, stderr=self._log
        )
        self.orphans: list[int] = []

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def events(self, name: str) -> list[dict]:
        found = []
        for line in self.log().splitlines():
            if line.startswith("{"):
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if entry.get("event") == name:
                    found.append(entry)
        return found

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the worker (frozen first, so it cannot start another crawl); its crawls must follow.

        A crawl worker's crawl subprocesses die with it (PR_SET_PDEATHSIG): a crawl left running
        would go on publishing while the job's new owner crawls the site again.
        """
        if self.alive():
            os.kill(self.pid, signal.SIGSTOP)
            self.orphans = children(self.pid)
            self.process.kill()
            survivors = [pid for pid in self.orphans if not wait_for(lambda p=pid: not _running(p), timeout=30)]
            for child in survivors:
                os.killpg(child, signal.SIGKILL)
            assert not survivors, f"crawl subprocesses {survivors} outlived their killed worker"
        self.process.wait(timeout=30)
        self._log.close()

    def stop(self, timeout: float = 60) -> int:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        self._log.close()
        return code


class Probe:
    """End offsets, committed offsets and group membership, seen from outside the workers."""

    def __init__(self, settings):
        from vigil.core import kafka
        from vigil.core.elastic import client

        self.settings = settings
        self.kafka = kafka
        self.reader = kafka.consumer(settings.kafka, None)
        self.admin = kafka.admin(settings.kafka)
        self.groups: dict[str, object] = {}
        self.es = client(settings.es)

    def close(self) -> None:
        self.reader.close()
        for consumer in self.groups.values():
            consumer.close()
        try:
            self.admin.delete_groups(list(self.groups))
        except Exception as exc:  # noqa: BLE001 - an empty leftover group is harmless
            print(f"consumer groups not deleted: {exc}")
        self.admin.close()
        self.es.close()

    def partitions(self, topic: str) -> int:
        self.reader.topics()
        return len(self.reader.partitions_for_topic(topic) or ())

    def caught_up(self, group: str, topic: str) -> bool:
        """True when ``group`` has committed every record of ``topic``."""
        from kafka import TopicPartition

        if group not in self.groups:
            self.groups[group] = self.kafka.consumer(self.settings.kafka, group)
        tps = [TopicPartition(topic, p) for p in self.reader.partitions_for_topic(topic) or ()]
        ends = self.reader.end_offsets(tps)
        return bool(ends) and all((self.groups[group].committed(tp) or 0) == ends[tp] for tp in tps)

    def assignment(self, group: str) -> list[set[int]] | None:
        """The partitions of each member when ``group`` is Stable, else None (rebalancing)."""
        info = self.admin.describe_groups([group]).get(group) or {}
        if info.get("group_state") != "Stable":
            return None
        return [
            {
                p
                for topic in (m.get("member_assignment") or {}).get("assigned_partitions", [])
                for p in topic["partitions"]
            }
            for m in info.get("members", [])
        ]

    def shared_by(self, group: str, members: int) -> bool:
        """True when ``group`` is Stable with ``members`` members that each own a partition."""
        owned = self.assignment(group)
        return owned is not None and len(owned) == members and all(owned)

    def jobs(self) -> dict[str, dict]:
        index = self.settings.es.indices.jobs
        if not self.es.indices.exists(index=index):
            return {}
        self.es.indices.refresh(index=index)
        hits = self.es.search(index=index, size=1000, query={"match_all": {}})["hits"]["hits"]
        return {hit["_id"]: hit["_source"] for hit in hits}

    def ads(self) -> list[dict]:
        alias = self.settings.es.indices.ads
        self.es.indices.refresh(index=alias)
        return [
            hit["_source"]
            for hit in self.es.search(index=alias, size=5000, query={"match_all": {}})["hits"]["hits"]
        ]

    def read(self, topic: str) -> list[dict]:
        consumer = self.kafka.consumer(self.settings.kafka, None, topic, consumer_timeout_ms=3000)
        try:
            return [json.loads(message.value) for message in consumer]
        finally:
            consumer.close()


@pytest.fixture
def workers(vigil_env, tmp_path):
    """Starts worker subprocesses; kills whatever is left of them (and their crawls) afterwards."""
    started: list[WorkerProcess] = []

    def start(role: str, *args: str) -> WorkerProcess:
        worker = WorkerProcess(role, vigil_env.env, tmp_path / f"{role}-{len(started)}.log", *args)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.alive():
            for child in children(worker.pid):
                try:
                    os.killpg(child, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            worker.kill()
        print(f"--- {worker.log_path.name}\n{worker.log()[-3000:]}")


@pytest.mark.timeout(420)
def test_two_of_each_worker_survive_losing_one(vigil_env, workers, tmp_path):
    settings = vigil_env.settings
    topics = settings.kafka.topics
    crawl_group, enrich_group = f"scale-crawl-{vigil_env.uid}", f"scale-enrich-{vigil_env.uid}"
    with_config(vigil_env, jobs={"group_id": crawl_group, "backoff_seconds": 1.0})
    # Crawl jobs may only name profiles inside the profiles directory: the test's profiles live there.
    config = yaml.safe_load(vigil_env.config_path.read_text())
    config["profiles_dir"] = str(tmp_path)
    vigil_env.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    probe = Probe(settings)
    timings: dict[str, float] = {}
    began = time.monotonic()

    def mark(name: str) -> None:
        timings[name] = time.monotonic() - began

    try:
        for topic in (topics.crawl_jobs, topics.pages_raw):
            assert probe.partitions(topic) >= MIN_PARTITIONS, f"{topic} has too few partitions to share"

        with FixtureSite() as site:
            expected: set[str] = set()
            jobs: list[CrawlJob] = []
            for i in range(JOBS):
                slug = CATEGORIES[i % len(CATEGORIES)]
                profile_id = f"scale-{i:02d}"
                path = write_profile(
                    tmp_path,
                    board_profile(
                        site,
                        id=profile_id,
                        start_urls=[f"{site.url}category/{slug}"],
                        follow=[{"css": "a.next"}],
                    ),
                )
                jobs.append(CrawlJob(profile_id=profile_id, profile_path=str(path), reason="scale-test"))
                expected |= {f"{profile_id}:{ad['id']}" for ad in site.board.in_category(slug)}
            assert len(expected) >= JOBS

            crawlers = [workers("crawl") for _ in range(2)]
            ports = [free_port() for _ in range(2)]
            enrichers = [
                workers("enrich", "--group", enrich_group, "--batch-size", "10", "--metrics-port", str(port))
                for port in ports
            ]
            everyone = crawlers + enrichers
            assert wait_for(
                lambda: probe.shared_by(crawl_group, 2) and probe.shared_by(enrich_group, 2),
                timeout=90,
                interval=0.5,
            ), "the workers did not form two groups of two: " + " | ".join(w.log()[-800:] for w in everyone)
            mark("groups formed")

            producer = probe.kafka.producer(settings.kafka)
            for job in jobs:
                producer.send(topics.crawl_jobs, key=job.profile_id.encode(), value=job.to_bytes())
            producer.flush()
            producer.close()
            mark("jobs produced")

            pids = {f"{socket.gethostname()}:{w.pid}": w for w in crawlers}

            chosen: list[WorkerProcess] = []

            def victims_busy() -> bool:
                """A crawl worker running a job (after two have finished) and an enrich worker that
                has committed a batch, so both are killed while they own work."""
                states = probe.jobs().values()
                if sum(s["state"] == "finished" for s in states) < 2:
                    return False
                busy = [pids[s["worker"]] for s in states if s["state"] == "running" and s["worker"] in pids]
                batching = [w for w in enrichers if w.events("offsets committed")]
                if busy and batching:
                    chosen.extend([busy[0], batching[0]])
                return bool(chosen)

            assert wait_for(victims_busy, timeout=120, interval=0.2), "no worker became busy"
            crawl_victim, enrich_victim = chosen
            crawl_victim.kill()
            enrich_victim.kill()
            mark("killed one of each")
            unfinished_at_kill = JOBS - sum(s["state"] == "finished" for s in probe.jobs().values())

            rebalanced: dict[str, float] = {}

            def taken_over() -> bool:
                for group, topic in ((crawl_group, topics.crawl_jobs), (enrich_group, topics.pages_raw)):
                    if group not in rebalanced and probe.assignment(group) == [
                        set(range(probe.partitions(topic)))
                    ]:
                        rebalanced[group] = time.monotonic() - began
                return len(rebalanced) == 2

            assert wait_for(taken_over, timeout=120, interval=0.5), f"no takeover: {rebalanced}"
            timings["crawl group rebalanced"] = rebalanced[crawl_group]
            timings["enrich group rebalanced"] = rebalanced[enrich_group]

            survivors = [w for w in everyone if w not in (crawl_victim, enrich_victim)]

            def all_jobs_done() -> bool:
                states = probe.jobs()
                return (
                    len(states) == JOBS
                    and all(s["state"] == "finished" for s in states.values())
                    and probe.caught_up(crawl_group, topics.crawl_jobs)
                )

            assert wait_for(all_jobs_done, timeout=180, interval=1), (
                f"jobs not all finished: {Counter(s['state'] for s in probe.jobs().values())}\n"
                + "\n".join(w.log()[-1500:] for w in survivors)
            )
            mark("all jobs finished")
            assert wait_for(
                lambda: probe.caught_up(enrich_group, topics.pages_raw), timeout=120, interval=0.5
            ), "enrichment did not catch up:\n" + "\n".join(w.log()[-1500:] for w in survivors)
            mark("all pages indexed")

        states = probe.jobs()
        assert sorted(states) == sorted(job.job_id for job in jobs)
        assert {s["state"] for s in states.values()} == {"finished"}
        finished_on_topic = {s["job_id"] for s in probe.read(topics.job_status) if s["state"] == "finished"}
        assert finished_on_topic == set(states)

        fetches: dict[str, set[str]] = defaultdict(set)
        for page in probe.read(topics.pages_raw):
            if page["page_type"] == "ad":
                fetches[f"{page['profile_id']}:{page['ad_id']}"].add(page["record_id"])
        assert set(fetches) == expected, "a page was never crawled, or one that should not be"

        ads = probe.ads()
        by_key = Counter(doc["ad_key"] for doc in ads)
        assert not [key for key, n in by_key.items() if n > 1], "an ad was indexed as two documents"
        assert set(by_key) == expected
        miscounted = {
            doc["ad_key"]: (doc["seen_count"], len(fetches[doc["ad_key"]]))
            for doc in ads
            if doc["seen_count"] != len(fetches[doc["ad_key"]])
            or set(doc["record_ids"]) != fetches[doc["ad_key"]]
        }
        assert not miscounted, f"ad -> (seen_count, distinct fetches): {miscounted}"

        events = probe.read(topics.ad_events)
        assert {e["event_type"] for e in events} == {"ad.new"}, "an unchanged re-crawl raised ad.changed"
        event_ids = defaultdict(set)
        for event in events:
            event_ids[event["ad_key"]].add(event["event_id"])
        assert set(event_ids) == expected and all(len(ids) == 1 for ids in event_ids.values())

        survivor = next(w for w in enrichers if w is not enrich_victim)
        redelivered = duplicates(ports[enrichers.index(survivor)])
        for worker in survivors:
            assert worker.stop() == 0, worker.log()[-2000:]

        recrawled = sum(len(ids) > 1 for ids in fetches.values())
        print(
            f"\nscale-out: {JOBS} jobs, {len(expected)} ads, {sum(map(len, fetches.values()))} ad fetches "
            f"({recrawled} ads fetched twice by a re-run job); {unfinished_at_kill} jobs unfinished at the kill; "
            f"crawl victim's orphaned crawls killed: {len(crawl_victim.orphans)}; re-delivered records "
            f"deduplicated by the surviving enrich worker: {redelivered}"
        )
        for name, at in timings.items():
            print(f"  {at:6.1f} s  {name}")
    finally:
        probe.close()
