"""The crawl worker: consumes crawl jobs and runs each crawl in a child process.

A child process, because Scrapy's reactor cannot be restarted in-process, and a crash or a hung
crawl is contained and killed on time. The child runs ``crawlers.runner.crawl_job``, which takes
the ``CrawlJob`` and returns the ``CrawlSummary`` record, the same code ``vigil crawl`` runs.
Jobs of one profile run one at a time, in order; up to ``slots`` profiles crawl at once. A job
that can never run (its profile unknown, outside the profiles directory, or invalid) fails at once,
without a child or a retry.
The shared consumer loop (``vigil.core.consumer``) commits a job's offset only when its crawl has
ended (finished, or failed after its retries), and only once every earlier job of its partition
has ended too (``held``).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import tempfile
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from pydantic import ValidationError

from crawlers.job_status import JobStatusReporter
from vigil.core.config import Settings
from vigil.core.consumer import Batch, ConsumerLoop, Handler
from vigil.core.metrics import add_counts, counter_snapshot
from vigil.core.records import CrawlJob, CrawlSummary, JobStatus, utcnow

log = structlog.get_logger("vigil.crawl_worker")

STDERR_TAIL = 2000
INVALID = "the profile or configuration is invalid"


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

    def held(self) -> dict[Any, int]:
        """Per partition, the earliest job that has not ended (commits must stop before it)."""
        return {tp: min(offsets) for tp, offsets in self.open.items() if offsets}


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


class CrawlHandler(Handler):
    name = "crawl"

    def __init__(self, settings: Settings, *, slots: int | None = None):
        self.settings = settings
        self.config = settings.jobs
        self.slots = slots or self.config.slots
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self.stopping = threading.Event()
        self.processes: dict[str, multiprocessing.Process] = {}
        self.lock = threading.Lock()
        self.last_crawl: dict[str, set[str]] = {}
        self.tracker = OffsetTracker()
        self.queues: dict[str, deque[Pending]] = {}
        self.running: dict[str, Future] = {}

    def start(self, loop: ConsumerLoop) -> None:
        from vigil.core.elastic import client

        self.loop = loop
        self.es = client(self.settings.es)
        self.status = JobStatusReporter(self.settings, loop.producer, self.es)
        self.pool = ThreadPoolExecutor(max_workers=self.slots, thread_name_prefix="crawl")
        if self.settings.tor.health_interval_seconds:
            threading.Thread(target=self._watch_tor, name="tor-health", daemon=True).start()
        log.info("crawl worker started", slots=self.slots)

    def _watch_tor(self) -> None:
        """Keep the Tor gauges (bootstrap, built circuits) current for /metrics and its alerts."""
        from vigil.core.tor.control import health

        while not self.stopping.is_set():
            for instance in self.settings.tor.instances:
                try:
                    health(instance)
                except Exception as exc:  # noqa: BLE001 - a probe must never take the worker down
                    log.warning("tor health check failed", error=f"{type(exc).__name__}: {exc}"[:300])
            self.stopping.wait(self.settings.tor.health_interval_seconds)

    def stop(self) -> None:
        """Running crawls are ended now; their jobs are not committed, so they are re-delivered."""
        self.stopping.set()
        with self.lock:
            for process in self.processes.values():
                _terminate(process)

    def handle(self, batch: Batch) -> None:
        from kafka import TopicPartition

        for record in batch.records:
            try:
                job = CrawlJob.from_bytes(record.value or b"")
            except ValidationError as exc:
                batch.dead_letter(record, "schema", str(exc))
                continue
            self.tracker.add(TopicPartition(record.topic, record.partition), record.offset)
            self.queues.setdefault(job.profile_id, deque()).append(
                Pending(record.topic, record.partition, record.offset, job)
            )
            self.status.report(self._status(job, "queued"))
            log.info("crawl job queued", job_id=job.job_id, profile=job.profile_id, offset=record.offset)

    def tick(self) -> None:
        self._reap()
        self._dispatch()

    def held(self) -> dict[Any, int]:
        return self.tracker.held()

    def backlogged(self) -> bool:
        return sum(len(q) for q in self.queues.values()) >= self.slots * 4

    def revoked(self, partitions: set[Any]) -> None:
        # Runs inside poll(): no blocking calls here; the dropped jobs go to the partitions' next owner.
        revoked = {(tp.topic, tp.partition) for tp in partitions}
        for queue in self.queues.values():
            kept = [p for p in queue if (p.topic, p.partition) not in revoked]
            queue.clear()
            queue.extend(kept)
        self.tracker.forget([tp for tp in list(self.tracker.next) if (tp.topic, tp.partition) in revoked])

    def close(self) -> None:
        self.stop()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self._reap()

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
        error, attempt = refusal(job, self.settings), 1
        attempts = 0 if error else self.config.attempts  # a job that can never run is not attempted
        for attempt in range(1, attempts + 1):
            if self.stopping.is_set():
                return None
            self.status.report(self._status(job, "running", attempt=attempt, started_at=started))
            log.info("crawl job started", job_id=job.job_id, profile=job.profile_id, attempt=attempt)
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
                # Accumulated: a re-crawl that finds nothing new (all known, 304) must not make the
                # next one forget ads that enrichment has not indexed yet.
                self.last_crawl[job.profile_id] = self.last_crawl.get(job.profile_id, set()) | set(summary.ad_ids)
                final = self._status(
                    job,
                    "finished",
                    attempt=attempt,
                    pages=summary.pages,
                    ads=summary.ads or len(summary.ad_ids),
                    new_ads=len(set(summary.ad_ids) - known),
                    published=summary.published,
                    errors=summary.errors,
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
            if self.stopping.is_set():
                return None
            log.warning(
                "crawl attempt failed",
                job_id=job.job_id,
                profile=job.profile_id,
                attempt=attempt,
                error=error[-500:],
            )
            if attempt < self.config.attempts:
                self.stopping.wait(self.config.backoff_seconds * 2 ** (attempt - 1))
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

    def crawl(self, job: CrawlJob, known: set[str]) -> CrawlSummary:
        """Run ``crawl_job`` in a child process; its CrawlSummary, or CrawlFailed."""
        context = multiprocessing.get_context("spawn")
        receiver, sender = context.Pipe(duplex=False)
        with tempfile.TemporaryDirectory(prefix="vigil-crawl-") as tmp:
            log_path = Path(tmp) / "crawl.log"
            process = context.Process(
                target=_crawl_child,
                args=(job.model_dump_json(), self.settings, sorted(known), str(log_path), sender),
                name=f"crawl-{job.profile_id}",
                daemon=False,
            )
            with self.lock:
                if self.stopping.is_set():
                    raise CrawlFailed("stopped")
                process.start()
                self.processes[job.job_id] = process
            sender.close()
            try:
                answer = receiver.recv() if receiver.poll(self.config.timeout_seconds) else None
            except EOFError:
                answer = None
            finally:
                timed_out = process.is_alive() and answer is None
                if not timed_out:
                    process.join(30)
                _terminate(process)
                with self.lock:
                    self.processes.pop(job.job_id, None)
                receiver.close()
                tail = _tail(log_path)
        if timed_out:
            raise CrawlFailed(f"crawl timed out after {self.config.timeout_seconds:g}s")
        if answer is None:
            raise CrawlFailed(f"the crawl process exited with {process.exitcode}: {tail}")
        kind, value, counts = answer
        add_counts(counts)
        if kind == "invalid":
            raise CrawlFailed(f"{INVALID}: {value}", permanent=True)
        if kind == "error":
            raise CrawlFailed(f"{value}: {tail}")
        summary = CrawlSummary.model_validate_json(value)
        if not summary.ok:
            raise CrawlFailed(f"crawl of {job.profile_id} failed: {summary.message or summary.finish_reason}: {tail}")
        return summary


def refusal(job: CrawlJob, settings: Settings) -> str:
    """Why the job can never run (its profile is missing, outside the profiles directory, or
    invalid), else "". Checked before any child is spawned: such a job fails at once, on a loaded
    machine too, and the child checks again whatever changed since."""
    from crawlers.routing import RoutingError
    from crawlers.runner import load_profile_for_crawl
    from vigil.core.profiles import ProfileError, job_profile

    try:
        load_profile_for_crawl(job_profile(job.profile_id, job.profile_path, settings.profiles_dir), settings)
    except (ProfileError, RoutingError) as exc:
        return f"{INVALID}: {exc}"
    return ""


def _crawl_child(job_json: str, settings: Settings, known: list[str], log_path: str, sender) -> None:
    """The child process: its own session (so the whole process group can be killed, Chromium
    included), dies with the worker, logs to a file whose tail explains a failure."""
    from crawlers.routing import RoutingError
    from crawlers.runner import crawl_job
    from vigil.core.profiles import ProfileError

    os.setsid()
    _die_with_parent()
    with open(log_path, "ab", buffering=0) as log_file:
        os.dup2(log_file.fileno(), 1)
        os.dup2(log_file.fileno(), 2)
    try:
        summary = crawl_job(CrawlJob.model_validate_json(job_json), settings, set(known))
        answer = ("summary", summary.model_dump_json())
    except (ProfileError, RoutingError) as exc:
        answer = ("invalid", str(exc))
    except Exception as exc:  # noqa: BLE001 - reported to the worker, which retries the job
        answer = ("error", f"{type(exc).__name__}: {exc}")
    try:
        sender.send((*answer, counter_snapshot()))
    finally:
        sender.close()


def _tail(path: Path) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, handle.seek(0, os.SEEK_END) - STDERR_TAIL))
            return handle.read().decode("utf-8", errors="replace").strip()
    except OSError:
        return ""


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


def _terminate(process) -> None:
    """SIGTERM the crawl's process group, SIGKILL it if it is still there after 10 s."""
    if process.pid is None or process.exitcode is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.join(10)
        if process.exitcode is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.join(5)
    except ProcessLookupError:
        return


def run_crawl_worker(settings: Settings, *, slots: int | None = None) -> int:
    handler = CrawlHandler(settings, slots=slots)
    return ConsumerLoop(
        settings,
        handler,
        group=settings.jobs.group_id,
        topic=settings.kafka.topics.crawl_jobs,
        batch_size=handler.slots * 2,
        poll_ms=200,
    ).run()
