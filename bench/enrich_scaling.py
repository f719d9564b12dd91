"""Enrichment scale-out: records/s of one vs two `vigil worker enrich` processes in one group.

The same prepared corpus (2,000 ~30 KB ad pages, as in enrich_throughput.py) is produced once to a
fresh raw-pages topic with 4 partitions; each run starts its workers in a fresh consumer group
writing to fresh indices, and is timed from the moment the group is Stable with every worker
owning partitions until the group's committed offsets reach the end of the topic. Startup and
the first group join are reported separately, not counted. Prints records/s for each run, the
ratio two/one, the CPU-seconds the workers used and the 1-minute load average: on a 2-core machine
Elasticsearch and Kafka share the cores, so two workers cannot double the rate there, and any other
load skews the ratio (compare the load averages).

Run after `vigil stack up` and `vigil init` (``make bench``); takes two to three minutes on
loopback. Topics ``bench.<uid>.*``, indices ``bench-<uid>-*`` and the consumer groups are deleted
afterwards.

    .venv/bin/python bench/enrich_scaling.py [--pages 2000] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import yaml
from enrich_throughput import ad_texts, page

from vigil.core import kafka
from vigil.core.config import load_settings
from vigil.core.elastic import client, install_templates

VIGIL = str(Path(sys.executable).parent / "vigil")
PARTITIONS = 4
RUN_TIMEOUT = 300.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class Run:
    """One configuration (topics shared, indices and group its own) and the probes to time it."""

    def __init__(self, base, uid: str, workers: int, scratch: Path):
        self.workers = workers
        self.group = f"bench-enrich-{uid}-{workers}"
        indices = {
            key: f"bench-{uid}-w{workers}-{name}" for key, name in base.es.indices.model_dump().items()
        }
        topics = {
            key: f"bench.{uid}.{name.removeprefix('vigil.')}"
            for key, name in base.kafka.topics.model_dump().items()
        }
        self.config = scratch / f"vigil-{workers}.yaml"
        self.config.write_text(
            yaml.safe_dump(
                {
                    "home": str(base.state_dir),
                    "metrics_port": 0,
                    "kafka": {"topics": topics, "partitions": max(PARTITIONS, base.kafka.partitions)},
                    "es": {"indices": indices},
                },
                sort_keys=False,
            )
        )
        self.settings = load_settings(self.config)


def produce(settings, count: int) -> None:
    texts = ad_texts()
    producer = kafka.producer(settings.kafka)
    topic = settings.kafka.topics.pages_raw
    for n in range(count):
        raw = page(n, *texts[n % len(texts)])
        producer.send(topic, key=raw.canonical_url.encode(), value=raw.to_bytes())
    producer.flush()
    producer.close()


def committed(reader, admin, group: str, topic: str) -> tuple[int, int]:
    """(records committed by the group, records in the topic), over all partitions."""
    from kafka import TopicPartition

    tps = [TopicPartition(topic, p) for p in reader.partitions_for_topic(topic)]
    ends = reader.end_offsets(tps)
    offsets = admin.list_group_offsets({group: None}).get(group, {})
    done = sum(max(offsets[tp].offset, 0) for tp in tps if tp in offsets)
    return done, sum(ends.values())


def stable_members(admin, group: str) -> int:
    """Members that own partitions, when the group is Stable; 0 while it (re)balances."""
    info = admin.describe_groups([group]).get(group) or {}
    if info.get("group_state") != "Stable":
        return 0
    return sum(
        1 for m in info.get("members", []) if (m.get("member_assignment") or {}).get("assigned_partitions")
    )


def measure(run: Run, reader, admin, scratch: Path) -> dict[str, float]:
    env = {**os.environ, "VIGIL_CONFIG": str(run.config)}
    topic = run.settings.kafka.topics.pages_raw
    logs = [open(scratch / f"worker-{run.workers}-{i}.log", "wb") for i in range(run.workers)]  # noqa: SIM115
    started = time.perf_counter()
    processes = [
        subprocess.Popen([VIGIL, "worker", "enrich", "--group", run.group], env=env, stdout=log, stderr=log)
        for log in logs
    ]
    try:
        t0 = done0 = None
        while True:
            if any(p.poll() is not None for p in processes):
                raise RuntimeError(f"a worker exited; see {scratch}/worker-{run.workers}-*.log")
            now = time.perf_counter()
            if now - started > RUN_TIMEOUT:
                raise RuntimeError(f"{run.workers} worker(s) did not finish in {RUN_TIMEOUT:g} s")
            if t0 is None and stable_members(admin, run.group) == run.workers:
                t0 = now
                done0, _ = committed(reader, admin, run.group, topic)
            done, total = committed(reader, admin, run.group, topic)
            if t0 is not None and done >= total:
                t1 = time.perf_counter()
                break
            time.sleep(0.25)
        cpu = sum(cpu_seconds(p.pid) for p in processes)
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in logs:
            log.close()
    es = client(run.settings.es)
    es.indices.refresh(index=run.settings.es.indices.ads)
    indexed = es.count(index=run.settings.es.indices.ads)["count"]
    es.close()
    if indexed != total:
        raise RuntimeError(f"{run.workers} worker(s): {indexed} ads indexed, expected {total}")
    measured = total - done0
    return {
        "workers": run.workers,
        "join_s": t0 - started,
        "measured": measured,
        "seconds": t1 - t0,
        "rate": measured / (t1 - t0),
        "wall_rate": total / (t1 - started),
        "cpu_s": cpu,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()

    base = load_settings()
    uid = uuid.uuid4().hex[:8]
    results = []
    with tempfile.TemporaryDirectory(prefix="vigil-enrich-scaling-") as tmp:
        scratch = Path(tmp)
        runs = [Run(base, uid, n, scratch) for n in args.workers]
        first = runs[0].settings
        kafka.ensure_topics(first.kafka)
        reader = kafka.consumer(first.kafka, None)
        admin = kafka.admin(first.kafka)
        try:
            reader.topics()
            partitions = len(reader.partitions_for_topic(first.kafka.topics.pages_raw))
            started = time.perf_counter()
            produce(first, args.pages)
            print(
                f"corpus: {args.pages} pages of ~30 KB on {partitions} partitions, "
                f"produced in {time.perf_counter() - started:.1f} s; {os.cpu_count()} CPUs, "
                f"load average {os.getloadavg()[0]:.2f}"
            )
            for run in runs:
                install_templates(run.settings.es)
                result = measure(run, reader, admin, scratch)
                results.append(result)
                print(
                    f"{run.workers} worker(s): {result['rate']:.1f} records/s "
                    f"({result['measured']} records in {result['seconds']:.1f} s after the group formed in "
                    f"{result['join_s']:.1f} s; {result['wall_rate']:.1f} records/s from process start; "
                    f"workers used {result['cpu_s']:.1f} CPU-s; load average {os.getloadavg()[0]:.2f})"
                )
            one = next((r for r in results if r["workers"] == 1), None)
            for result in results:
                if one is not None and result is not one:
                    print(f"ratio {result['workers']}/1: {result['rate'] / one['rate']:.2f}")
        finally:
            cleanup(runs, uid, admin)
            reader.close()
            admin.close()
    return 0


def cleanup(runs: list[Run], uid: str, admin) -> None:
    """Delete the benchmark's groups, topics, indices and templates (best effort, reported)."""
    try:
        admin.delete_groups([run.group for run in runs])
    except Exception as exc:  # noqa: BLE001 - a leftover group is harmless; say so and go on
        print(f"cleanup: consumer groups not deleted: {exc}")
    try:
        mine = [t for t in admin.list_topics() if t.startswith(f"bench.{uid}.")]
        if mine:
            admin.delete_topics(mine)
    except Exception as exc:  # noqa: BLE001
        print(f"cleanup: topics bench.{uid}.* not deleted: {exc}")
    es = client(runs[0].settings.es)
    try:
        names = list(es.indices.get(index=f"bench-{uid}-*", expand_wildcards="all").keys())
        if names:
            es.indices.delete(index=",".join(names), ignore_unavailable=True)
        for run in runs:
            for alias in run.settings.es.indices.model_dump().values():
                es.options(ignore_status=404).indices.delete_index_template(name=alias)
    finally:
        es.close()


if __name__ == "__main__":
    sys.exit(main())
