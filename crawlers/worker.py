"""The crawl worker: consumes crawl jobs and runs each as ``vigil crawl`` in a subprocess.

A subprocess, because it is exactly the code an analyst runs by hand (Scrapy's reactor cannot be
restarted in-process either), and a crash or a hung crawl is contained and killed on time.
Jobs of one profile run one at a time, in order; up to ``slots`` profiles crawl at once.
A job's offset is committed only when its crawl has ended (finished, or failed after its
retries), and only once every earlier job of its partition has ended too.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from pydantic import ValidationError

from crawlers.job_status import JobStatusReporter
from vigil.core.config import Settings
from vigil.core.consumer import subscribe_when_ready
from vigil.core.kafka import report_lag
from vigil.core.records import CrawlJob, JobStatus, utcnow

log = structlog.get_logger("vigil.crawl_worker")

STDERR_TAIL = 2000
INVALID_PROFILE = 2  # `vigil crawl`: the profile or configuration is invalid; retrying cannot help


class CrawlFailed(Exception):
    """One attempt at a crawl failed; the message says why (exit code and the end of its log)."""

    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


@dataclass
class Pending:
    topic: str
    partition: int
    offset: int
    job: CrawlJob


class OffsetTracker:
    """Per partition: the offsets in flight, so commits never pass a job that has not ended."""

    def __init__(self) -> None:
        self.open: dict[Any, set[int]] = {}
        self.next: dict[Any, int] = {}

    def add(self, tp, offset: int) -> None:
        self.open.setdefault(tp, set()).add(offset)
        self.next[tp] = max(self.next.get(tp, 0), offset + 1)

    def done(self, tp, offset: int) -> None:
        self.open.get(tp, set()).discard(offset)

    def forget(self, tps) -> None:
        for tp in tps:
            self.open.pop(tp, None)
            self.next.pop(tp, None)

    def committable(self) -> dict[Any, int]:
        return {tp: min(self.open[tp]) if self.open.get(tp) else nxt for tp, nxt in self.next.items()}


def known_ads(es, index: str, profile_id: str) -> set[str]:
    """The ad ids (else canonical URLs) Elasticsearch already holds for a profile."""
    from elasticsearch.helpers import scan

    es.indices.refresh(index=index)
    found: set[str] = set()
    query = {"query": {"term": {"profile_id": profile_id}}, "_source": ["ad_id", "canonical_url"]}
    for hit in scan(es, index=index, query=query, size=1000, scroll="2m"):
        source = hit.get("_source") or {}
        value = source.get("ad_id") or source.get("canonical_url")
        if value:
            found.add(str(value))
    return found


class CrawlWorker:
    def __init__(self, settings: Settings, *, slots: int | None = None, config_path: Path | None = None):
        self.settings = settings
        self.config = settings.jobs
        self.slots = slots or self.config.slots
        self.config_path = config_path
        self.topic = settings.kafka.topics.crawl_jobs
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self.stop_event = threading.Event()
        self.processes: dict[str, subprocess.Popen] = {}
        self.lock = threading.Lock()
        self.last_crawl: dict[str, set[str]] = {}

    def stop(self, *_: Any) -> None:
        if not self.stop_event.is_set():
            log.info("stop requested: running crawls are ended and re-delivered later")
        self.stop_event.set()
        with self.lock:
            for process in self.processes.values():
                _terminate(process)

    def run(self) -> int:
        """Consume until SIGTERM/SIGINT; returns the process exit code."""
        from kafka import ConsumerRebalanceListener

        from vigil.core import kafka
        from vigil.core.elastic import client

        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        self.es = client(self.settings.es)
        self.producer = kafka.producer(self.settings.kafka)
        self.status = JobStatusReporter(self.settings, self.producer, self.es)
        self.tracker = OffsetTracker()
        self.committed: dict[Any, int] = {}
        self.queues: dict[str, deque[Pending]] = {}
        self.running: dict[str, Future] = {}
        self.pool = ThreadPoolExecutor(max_workers=self.slots, thread_name_prefix="crawl")
        worker = self

        class Rebalance(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked):
                # Runs on kafka-python's IO thread: no blocking calls (no commit) here; the jobs
                # not yet committed are re-delivered to the partitions' next owner.
                worker._drop_queued(revoked)

            def on_partitions_assigned(self, assigned):
                log.info("partitions assigned", partitions=sorted(tp.partition for tp in assigned))

        self.consumer = kafka.consumer(
            self.settings.kafka, self.config.group_id, max_poll_records=self.slots * 2
        )
        if not subscribe_when_ready(self.consumer, self.topic, self.stop_event, Rebalance()):
            self.consumer.close(autocommit=False)
            self.producer.close(timeout=10)
            return 0
        log.info("crawl worker started", topic=self.topic, group=self.config.group_id, slots=self.slots)
        lag_at = 0.0
        try:
            while not self.stop_event.is_set():
                backlog = sum(len(q) for q in self.queues.values())
                if backlog >= self.slots * 4:
                    self.consumer.pause(*self.consumer.assignment())
                else:
                    self.consumer.resume(*self.consumer.paused())
                polled = self.consumer.poll(timeout_ms=200)
                for records in polled.values():
                    for record in records:
                        self._accept(record)
                self._reap()
                self._dispatch()
                self._commit()
                if time.monotonic() - lag_at > 10:
                    lag_at = time.monotonic()
                    self._report_lag()
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self._reap()
            self._commit()
            self.consumer.close(autocommit=False)
            self.producer.close(timeout=10)
            log.info("crawl worker stopped")
        return 0

    def _accept(self, record) -> None:
        from kafka import TopicPartition

        tp = TopicPartition(record.topic, record.partition)
        try:
            job = CrawlJob.from_bytes(record.value)
        except ValidationError as exc:
            log.error(
                "unreadable crawl job skipped",
                partition=record.partition,
                offset=record.offset,
                error=str(exc),
            )
            return
        self.tracker.add(tp, record.offset)
        self.queues.setdefault(job.profile_id, deque()).append(
            Pending(record.topic, record.partition, record.offset, job)
        )
        self.status.report(self._status(job, "queued"))

    def _dispatch(self) -> None:
        for profile_id, queue in self.queues.items():
            if len(self.running) >= self.slots:
                return
            if queue and profile_id not in self.running:
                pending = queue.popleft()
                while queue and not pending.job.baseline:
                    pending = self._supersede(pending, queue.popleft())
                future = self.pool.submit(self.execute, pending.job)
                future.pending = pending  # type: ignore[attr-defined]
                self.running[profile_id] = future

    def _supersede(self, older: Pending, newer: Pending) -> Pending:
        """Skip a job that a newer one of the same profile makes redundant (crawls slower than the watch)."""
        from kafka import TopicPartition

        self.status.report(
            self._status(
                older.job, "finished", message=f"superseded by job {newer.job.job_id}", finished_at=utcnow()
            )
        )
        self.tracker.done(TopicPartition(older.topic, older.partition), older.offset)
        log.info(
            "crawl job superseded", job_id=older.job.job_id, by=newer.job.job_id, profile=older.job.profile_id
        )
        return newer

    def _reap(self) -> None:
        from kafka import TopicPartition

        for profile_id, future in list(self.running.items()):
            if not future.done():
                continue
            del self.running[profile_id]
            pending: Pending = future.pending  # type: ignore[attr-defined]
            if future.cancelled():
                continue
            error = future.exception()
            if error is not None:
                log.error("crawl job crashed its thread", job_id=pending.job.job_id, error=repr(error))
                self.status.report(self._status(pending.job, "failed", message=f"worker error: {error!r}"))
            elif future.result() is None:
                continue
            self.tracker.done(TopicPartition(pending.topic, pending.partition), pending.offset)

    def _drop_queued(self, revoked) -> None:
        revoked = {(tp.topic, tp.partition) for tp in revoked}
        for queue in self.queues.values():
            kept = [p for p in queue if (p.topic, p.partition) not in revoked]
            queue.clear()
            queue.extend(kept)
        gone = [tp for tp in list(self.tracker.next) if (tp.topic, tp.partition) in revoked]
        self.tracker.forget(gone)
        for tp in gone:
            self.committed.pop(tp, None)

    def _commit(self) -> None:
        from kafka.errors import CommitFailedError, KafkaError
        from kafka.structs import OffsetAndMetadata

        owned = self.consumer.assignment()
        wanted = {
            tp: o
            for tp, o in self.tracker.committable().items()
            if tp in owned and self.committed.get(tp) != o
        }
        if not wanted:
            return
        try:
            self.consumer.commit({tp: OffsetAndMetadata(o, "", -1) for tp, o in wanted.items()})
            self.committed.update(wanted)
        except (CommitFailedError, KafkaError) as exc:
            log.warning("commit refused (rebalance); the new owner re-runs uncommitted jobs", error=str(exc))

    def _report_lag(self) -> None:
        report_lag(self.consumer, self.config.group_id, self.topic)

    def _status(self, job: CrawlJob, state: str, **fields: Any) -> JobStatus:
        return JobStatus(
            job_id=job.job_id,
            profile_id=job.profile_id,
            state=state,  # type: ignore[arg-type]
            reason=job.reason,
            baseline=job.baseline,
            requested_at=job.requested_at,
            worker=self.worker,
            **fields,
        )

    def execute(self, job: CrawlJob) -> JobStatus | None:
        """Run one job with retries; returns its final status, or None when stopped (re-delivered)."""
        started = utcnow()
        error = ""
        for attempt in range(1, self.config.attempts + 1):
            if self.stop_event.is_set():
                return None
            self.status.report(self._status(job, "running", attempt=attempt, started_at=started))
            try:
                known = self.known(job.profile_id)
                summary = self.crawl(job, known)
            except CrawlFailed as exc:
                error = str(exc)
                if exc.permanent:
                    break
            except Exception as exc:  # noqa: BLE001 - e.g. Elasticsearch down: counts as a failed attempt
                error = f"{type(exc).__name__}: {exc}"
            else:
                ad_ids = [str(a) for a in summary.get("ad_ids") or []]
                # Accumulated: a re-crawl that finds nothing new (all known, 304) must not make the
                # next one forget ads that enrichment has not indexed yet.
                self.last_crawl[job.profile_id] = self.last_crawl.get(job.profile_id, set()) | set(ad_ids)
                final = self._status(
                    job,
                    "finished",
                    attempt=attempt,
                    pages=int(summary.get("pages") or 0),
                    ads=int(summary.get("ads") or len(ad_ids)),
                    new_ads=len(set(ad_ids) - known),
                    published=int(summary.get("published") or 0),
                    errors={str(k): int(v) for k, v in (summary.get("errors") or {}).items()},
                    message="" if summary.get("ok", True) else "the crawl reported errors",
                    started_at=started,
                    finished_at=utcnow(),
                )
                self.status.report(final)
                log.info(
                    "crawl job finished",
                    job_id=job.job_id,
                    profile=job.profile_id,
                    pages=final.pages,
                    new_ads=final.new_ads,
                )
                return final
            if self.stop_event.is_set():
                return None
            log.warning(
                "crawl attempt failed",
                job_id=job.job_id,
                profile=job.profile_id,
                attempt=attempt,
                error=error[-500:],
            )
            if attempt < self.config.attempts:
                self.stop_event.wait(self.config.backoff_seconds * 2 ** (attempt - 1))
        final = self._status(
            job,
            "failed",
            attempt=attempt,
            message=error[-STDERR_TAIL:],
            started_at=started,
            finished_at=utcnow(),
        )
        self.status.report(final)
        log.error("crawl job failed", job_id=job.job_id, profile=job.profile_id, attempts=attempt)
        return final

    def known(self, profile_id: str) -> set[str]:
        """Ads known before this crawl: those in Elasticsearch, plus those this worker's earlier
        crawls of the profile found (enrichment may not have indexed them yet)."""
        found = known_ads(self.es, self.settings.es.indices.ads, profile_id)
        return found | self.last_crawl.get(profile_id, set())

    def command(self, job: CrawlJob, known_file: Path | None) -> list[str]:
        """The ``vigil crawl`` command line for a job, with this worker's configuration."""
        command = [sys.executable, "-c", "from vigil.app.cli import main; main()"]
        if self.config_path:
            command += ["--config", str(self.config_path)]
        profile = (
            job.profile_path if job.profile_path and Path(job.profile_path).is_file() else job.profile_id
        )
        command += ["crawl", profile, "--job-id", job.job_id, "--reason", job.reason, "--json"]
        if job.max_pages:
            command += ["--max-pages", str(job.max_pages)]
        if job.incremental and known_file is not None:
            command += ["--incremental", "--known-ads", str(known_file)]
        if job.baseline:
            command += ["--baseline"]
        return command

    def crawl(self, job: CrawlJob, known: set[str]) -> dict[str, Any]:
        """Run the crawl subprocess; its one JSON summary line, or CrawlFailed."""
        with tempfile.TemporaryDirectory(prefix="vigil-crawl-") as tmp:
            known_file = None
            if job.incremental:
                known_file = Path(tmp) / "known-ads.txt"
                known_file.write_text("".join(f"{ad}\n" for ad in sorted(known)), encoding="utf-8")
            command = self.command(job, known_file)
            process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                preexec_fn=_die_with_parent,
            )
            with self.lock:
                self.processes[job.job_id] = process
            try:
                stdout, stderr = process.communicate(timeout=self.config.timeout_seconds)
            except subprocess.TimeoutExpired:
                _terminate(process)
                process.communicate()
                raise CrawlFailed(f"crawl timed out after {self.config.timeout_seconds:g}s") from None
            finally:
                with self.lock:
                    self.processes.pop(job.job_id, None)
        summary = _summary(stdout)
        if process.returncode != 0:
            raise CrawlFailed(
                f"vigil crawl exited with {process.returncode}: {stderr.strip()[-STDERR_TAIL:]}",
                permanent=process.returncode == INVALID_PROFILE,
            )
        if summary is None:
            raise CrawlFailed(f"vigil crawl printed no JSON summary: {stderr.strip()[-STDERR_TAIL:]}")
        return summary


def _summary(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                return None
    return None


def _load_prctl():
    """libc's prctl, looked up once in the worker: the forked child of a threaded process must not
    import or dlopen anything (another thread may have held the import lock at fork time)."""
    import ctypes

    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None  # not Linux: the job's new owner re-runs the crawl; indexing is idempotent


_PRCTL = _load_prctl()
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: the crawl gets SIGTERM when its worker dies, so a killed worker leaves no crawl behind.

    Otherwise the orphan would go on publishing while the job's new owner crawls the site again.
    """
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _terminate(process: subprocess.Popen) -> None:
    """SIGTERM the crawl's process group, SIGKILL it if it is still there after 10 s."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
