"""The watch scheduler: turns watches into crawl jobs on the crawl-jobs topic, on time, once.

APScheduler 3.x (BackgroundScheduler) keeps one job per watch in a SQLAlchemy job store in the
same database as the watches and the lease, so next run times survive a restart. Missed runs
are coalesced into one (``coalesce``), runs are spread by jitter, and only the process holding
the lease (see scheduler/lease.py) runs jobs; the others wait paused as standbys.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import structlog
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_PAUSED
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import SQLAlchemyError

from scheduler.lease import Lease
from scheduler.triggers import cron_trigger
from scheduler.watches import Watch, WatchStore, create_tables, engine_for
from vigil.core.config import Settings
from vigil.core.metrics import SCHEDULER_RUNS
from vigil.core.records import CrawlJob

log = structlog.get_logger("vigil.scheduler")

LEASE_NAME = "vigil-scheduler"
JOBS_TABLE = "vigil_apscheduler_jobs"
FIRE = "scheduler.service:fire_watch"
MANIFEST_JOB = "vigil-evidence-manifests"
WRITE_MANIFESTS = "scheduler.service:write_manifests"

_active: SchedulerService | None = None


def fire_watch(watch_id: str) -> None:
    """APScheduler's job function (stored by reference): run the watch in this process's service."""
    if _active is None:
        raise RuntimeError(f"watch {watch_id} fired outside a running scheduler service")
    _active.fire(watch_id)


def write_manifests() -> None:
    """APScheduler's job function for the evidence manifests (see SchedulerService.write_manifests)."""
    if _active is None:
        raise RuntimeError("evidence manifests due outside a running scheduler service")
    _active.write_manifests()


def open_watches(settings: Settings) -> WatchStore:
    """The watch table of the configured scheduler database (used by `vigil watch`)."""
    return WatchStore(engine_for(settings.scheduler.store_url(settings.state_dir)))


class SchedulerService:
    """One scheduler process: lease loop in the calling thread, APScheduler in the background."""

    def __init__(self, settings: Settings, holder: str | None = None):
        self.settings = settings
        self.config = settings.scheduler
        self.engine = engine_for(self.config.store_url(settings.state_dir))
        self.watches = WatchStore(self.engine)
        self.lease = Lease(self.engine, LEASE_NAME, self.config.lease_seconds, holder)
        jobstore = SQLAlchemyJobStore(engine=self.engine, tablename=JOBS_TABLE)
        create_tables(self.engine, jobstore.jobs_t)
        self.scheduler = BackgroundScheduler(
            jobstores={"default": jobstore, "memory": MemoryJobStore()},
            executors={"default": ThreadPoolExecutor(max_workers=4)},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": self.config.misfire_grace_seconds,
            },
            timezone=UTC,
        )
        self._producer = None
        self._producer_lock = threading.Lock()
        self._profiles_seen: tuple | None = None
        self.leader = False

    def run(self, stop: threading.Event) -> None:
        """Compete for the lease until ``stop`` is set; while leader, sync watches and run them."""
        global _active
        _active = self
        self.scheduler.start(paused=True)
        tick = min(self.config.sync_seconds, self.config.lease_seconds / 4)
        log.info("scheduler started", holder=self.lease.holder, job_store=self.engine.url.render_as_string())
        try:
            while not stop.is_set():
                self._tick()
                stop.wait(tick)
        finally:
            self.scheduler.shutdown(wait=True)
            if self.leader:
                self.lease.release()
            if self._producer is not None:
                self._producer.close(timeout=10)
            _active = None
            log.info("scheduler stopped", holder=self.lease.holder)

    def _tick(self) -> None:
        try:
            leader = self.lease.acquire()
        except SQLAlchemyError as exc:
            log.error("lease renewal failed, standing by", error=str(exc))
            leader = False
        if leader != self.leader:
            log.info(
                "scheduler role changed", holder=self.lease.holder, role="leader" if leader else "standby"
            )
        if not leader:
            if self.scheduler.state != STATE_PAUSED:
                self.scheduler.pause()
            self.leader = False
            return
        self.leader = True
        try:
            self.sync()
        except SQLAlchemyError as exc:
            log.error("syncing watches failed, retried next tick", error=str(exc))
            return
        if self.scheduler.state == STATE_PAUSED:
            self.scheduler.resume()

    def sync(self) -> None:
        """Make APScheduler's jobs match the watches table (after mirroring the profiles' watches)."""
        self._sync_profiles()
        watches = {w.watch_id: w for w in self.watches.all()}
        jobs = {job.id: job for job in self.scheduler.get_jobs()}
        for watch_id, watch in watches.items():
            name = f"{watch.profile_id} {watch.schedule}"
            job = jobs.get(watch_id)
            if job is None:
                first = None if watch.paused else self._first_run(watch)
                options = {} if first is False else {"next_run_time": first}
                self.scheduler.add_job(
                    FIRE, trigger=self.trigger(watch), args=[watch_id], id=watch_id, name=name, **options
                )
                log.info("watch scheduled", watch=watch_id, schedule=watch.schedule)
                continue
            if job.name != name:
                self.scheduler.modify_job(watch_id, name=name)
                job = self.scheduler.reschedule_job(watch_id, trigger=self.trigger(watch))
                log.info("watch rescheduled", watch=watch_id, schedule=watch.schedule)
            if watch.paused and job.next_run_time is not None:
                self.scheduler.pause_job(watch_id)
                log.info("watch paused", watch=watch_id)
            elif not watch.paused and job.next_run_time is None:
                self.scheduler.resume_job(watch_id)
                log.info("watch resumed", watch=watch_id)
        self._sync_evidence(jobs.get(MANIFEST_JOB))
        for job_id in jobs.keys() - watches.keys() - {MANIFEST_JOB}:
            self.scheduler.remove_job(job_id)
            log.info("watch removed", watch=job_id)

    def _sync_evidence(self, job) -> None:
        """One job writes the signed evidence manifests, a few minutes after each period ends, and once
        when this process becomes leader (catching up what a restart or failover missed). It lives in
        memory, not the watches' job store: each run writes every period still missing anyway."""
        from vigil.core.custody import EPOCH, GRACE

        hours = self.settings.evidence.manifest_interval_hours
        name = f"evidence manifests every {hours:g}h"
        if not self.settings.evidence.capture:
            if job is not None:
                self.scheduler.remove_job(MANIFEST_JOB)
            return
        if job is None or job.name != name:
            trigger = IntervalTrigger(hours=hours, start_date=EPOCH + GRACE, timezone=UTC)
            self.scheduler.add_job(
                WRITE_MANIFESTS,
                trigger=trigger,
                id=MANIFEST_JOB,
                name=name,
                jobstore="memory",
                replace_existing=True,
                next_run_time=datetime.now(UTC),
            )
            log.info("evidence manifests scheduled", every_hours=hours)

    def write_manifests(self) -> None:
        """Every ended period without a complete manifest gets one; only the lease holder writes."""
        from vigil.core.custody import write_due_manifests
        from vigil.core.evidence import open_store

        if not self.lease.held():
            log.warning("evidence manifests skipped: lease not held")
            return
        for manifest in write_due_manifests(open_store(self.settings), self.settings):
            log.info("evidence manifest signed", manifest=manifest.name, leaves=manifest.document["tree_size"])

    def _first_run(self, watch: Watch) -> datetime | bool:
        """A new interval watch runs at once (its baseline); a cron watch waits for its time."""
        if watch.every_seconds is not None and watch.runs == 0:
            return datetime.now(UTC)
        return False

    def _sync_profiles(self) -> None:
        from vigil.core.profiles import load_profiles, profile_files

        directory = Path(self.settings.profiles_dir)
        if not directory.is_dir():
            if self._profiles_seen != ():
                log.warning(
                    "profiles_dir not found; profile watches left as they are", profiles_dir=str(directory)
                )
                self._profiles_seen = ()
            return
        seen = tuple((str(p), p.stat().st_mtime_ns) for p in profile_files(directory))
        if seen == self._profiles_seen:
            return
        profiles, errors = load_profiles(directory)
        for error in errors:
            log.error("profile skipped", error=str(error))
        for watch_id, change in self.watches.sync_profiles(profiles, self.config.baseline_first_run).items():
            log.info("profile watch synced", watch=watch_id, change=change)
        self._profiles_seen = seen

    def trigger(self, watch: Watch):
        if watch.every_seconds is not None:
            jitter = min(self.config.max_jitter_seconds, self.config.jitter_ratio * watch.every_seconds)
            return IntervalTrigger(seconds=watch.every_seconds, jitter=jitter or None, timezone=UTC)
        assert watch.cron is not None
        return cron_trigger(watch.cron, self.config.max_jitter_seconds or None)

    def fire(self, watch_id: str) -> CrawlJob | None:
        """Publish one run of a watch, unless the lease is lost or someone else counted this run."""
        if not self.lease.held():
            log.warning("run skipped: lease not held", watch=watch_id)
            return None
        watch = self.watches.get(watch_id)
        if watch is None or watch.paused:
            return None
        baseline = watch.baseline and watch.runs == 0
        job = CrawlJob(
            profile_id=watch.profile_id,
            reason="baseline" if baseline else "watch",
            baseline=baseline,
            incremental=watch.incremental and not baseline,
            max_pages=watch.max_pages,
            profile_path=watch.profile_path,
        )
        if not self.watches.claim_run(watch, job.job_id):
            log.warning("run skipped: already counted by another scheduler", watch=watch_id)
            return None
        try:
            self._publish(job)
        except Exception:
            self.watches.unclaim_run(watch, job.job_id)
            log.exception("crawl job not published; the next run retries", watch=watch_id, job_id=job.job_id)
            raise
        SCHEDULER_RUNS.labels(profile=watch.profile_id).inc()
        log.info(
            "crawl job published", watch=watch_id, job_id=job.job_id, run=watch.runs + 1, baseline=baseline
        )
        return job

    def _publish(self, job: CrawlJob) -> None:
        from vigil.core.kafka import producer

        with self._producer_lock:
            if self._producer is None:
                self._producer = producer(self.settings.kafka)
        topic = self.settings.kafka.topics.crawl_jobs
        self._producer.send(topic, key=job.profile_id.encode(), value=job.to_bytes()).get(timeout=30)
