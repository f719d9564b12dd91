"""Crawl job progress, reported twice: to the job-status topic (a stream) and to vigil-jobs (a table).

The index holds one document per job (id: job_id), overwritten at each state change, so
``vigil-jobs`` answers "what happened to job J" and the alerts worker can ask whether a job was
a baseline. The topic keeps every transition for whoever wants the history.
"""

from __future__ import annotations

import time

import structlog

from vigil.core.config import Settings
from vigil.core.metrics import JOBS
from vigil.core.records import JobStatus, utcnow

log = structlog.get_logger("vigil.jobs")

WRITE_ATTEMPTS = 3


class JobStatusReporter:
    def __init__(self, settings: Settings, producer, es):
        self.topic = settings.kafka.topics.job_status
        self.index = settings.es.indices.jobs
        self.producer = producer
        self.es = es

    def report(self, status: JobStatus) -> None:
        """Publish and index one status; retried, then logged as lost (the crawl itself goes on)."""
        status.updated_at = utcnow()
        if status.state in ("finished", "failed"):
            JOBS.labels(state=status.state).inc()
        delay = 0.5
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                self.es.index(
                    index=self.index, id=status.job_id, document=status.model_dump(mode="json"), refresh=False
                )
                self.producer.send(self.topic, key=status.job_id.encode(), value=status.to_bytes()).get(
                    timeout=30
                )
                return
            except Exception as exc:  # noqa: BLE001 - retried, then logged with the cause
                if attempt == WRITE_ATTEMPTS:
                    log.error(
                        "job status not recorded",
                        job_id=status.job_id,
                        state=status.state,
                        error=f"{type(exc).__name__}: {exc}",
                    )
                    return
                time.sleep(delay)
                delay *= 2
