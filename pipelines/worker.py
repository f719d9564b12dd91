"""The enrichment worker: raw pages in, ad documents, entities and ad events out.

One loop, at-least-once: poll a batch from the raw-pages topic, analyse each page, publish the
batch's events and dead letters, write it with one Elasticsearch bulk, and only then commit its
offsets. While Elasticsearch or Kafka cannot take the batch, the worker keeps it in memory,
retries with backoff and keeps its group membership alive by polling with its partitions paused;
nothing is committed until the batch is written. Re-delivery after a crash is harmless: writes are
idempotent (see ``pipelines.indexer``).
"""

from __future__ import annotations

import hashlib
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
from pydantic import ValidationError

from pipelines.dead_letters import DeadLetterSink
from pipelines.events import EVENT_FOR_STATUS, EventPublisher, ad_event
from pipelines.indexer import ElasticUnavailable, Indexer, IndexResult, Observation, Outcome
from vigil.core.config import Settings
from vigil.core.kafka import report_lag
from vigil.core.metrics import ENRICH_ERRORS, ENRICH_RECORDS
from vigil.core.records import AdDocument, RawPage, ad_key

log = structlog.get_logger(__name__)

STAGE = "enrich"
DEFAULT_GROUP = "vigil-enrich"
MAX_POLL_INTERVAL_MS = 10 * 60 * 1000
BACKOFF_START = 0.5
BACKOFF_MAX = 15.0
LAG_EVERY = 5.0

Analyze = Callable[[RawPage], AdDocument]
T = TypeVar("T")


class Stopped(Exception):
    """A stop signal arrived while a batch could not be delivered: leave it uncommitted."""


@dataclass
class Source:
    """Where an observation came from: the Kafka record (for dead letters) and the parsed page."""

    record: Any
    page: RawPage


def load_analyzer(settings: Settings) -> Analyze:
    from pipelines.analysis import analyze, configure

    configure(settings.limits)
    return analyze


def prepared(doc: AdDocument, page: RawPage) -> AdDocument:
    """The analysed ad with the identity and provenance the indexer relies on, whatever analyze() set."""
    content_hash = doc.content_hash or hashlib.sha256(f"{doc.title}\n{doc.text}".encode()).hexdigest()
    return doc.model_copy(
        update={
            "ad_key": ad_key(page.profile_id, page.ad_id, page.canonical_url),
            "profile_id": page.profile_id,
            "record_id": page.record_id,
            "job_id": page.job_id,
            "fetched_at": doc.fetched_at or page.fetched_at,
            "content_hash": content_hash,
        }
    )


class EnrichWorker:
    def __init__(
        self,
        settings: Settings,
        *,
        group: str = DEFAULT_GROUP,
        batch_size: int = 200,
        analyze: Analyze | None = None,
    ):
        self.settings = settings
        self.group = group
        self.batch_size = batch_size
        self.analyze = analyze
        self.topic = settings.kafka.topics.pages_raw
        self.stopping = False
        self._lag_at = 0.0

    def stop(self, *_: Any) -> None:
        if not self.stopping:
            log.info("stop requested: finishing the current batch")
        self.stopping = True

    def run(self) -> int:
        """Consume until SIGTERM/SIGINT; returns the process exit code."""
        from vigil.core import kafka
        from vigil.core.elastic import client

        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        self.analyze = self.analyze or load_analyzer(self.settings)
        self.consumer = kafka.consumer(
            self.settings.kafka,
            self.group,
            self.topic,
            max_poll_records=self.batch_size,
            max_poll_interval_ms=MAX_POLL_INTERVAL_MS,
        )
        self.producer = kafka.producer(self.settings.kafka)
        self.es = client(self.settings.es, max_retries=0)
        self.indexer = Indexer(self.es, self.settings.es.indices, self.settings.limits)
        self.events = EventPublisher(self.producer, self.settings.kafka.topics.ad_events)
        self.dead_letters = DeadLetterSink(self.producer, self.settings.kafka.topics.pages_dlq, STAGE)
        try:
            if not self._connect():
                return 0
            log.info(
                "enrich worker started",
                topic=self.topic,
                group=self.group,
                batch_size=self.batch_size,
                kafka=self.settings.kafka.bootstrap,
                elasticsearch=self.settings.es.url,
            )
            while not self.stopping:
                polled = self.consumer.poll(timeout_ms=1000, max_records=self.batch_size)
                records = [record for batch in polled.values() for record in batch]
                if records:
                    try:
                        self.process(records)
                    except Stopped:
                        log.warning(
                            "stopped with an undelivered batch; it will be re-delivered", records=len(records)
                        )
                        break
                self._report_lag()
            log.info("enrich worker stopped")
            return 0
        finally:
            self.consumer.close(autocommit=False)
            self.producer.close(timeout=10)

    def _connect(self) -> bool:
        """Wait for Kafka (naming it while it is unreachable); warn early when Elasticsearch is not there."""
        from kafka.errors import KafkaTimeoutError

        delay = BACKOFF_START
        while not self.stopping:
            try:
                self.consumer.bootstrap(timeout_ms=5000)
                break
            except KafkaTimeoutError:
                self._unreachable("Kafka", self.settings.kafka.bootstrap, "no broker answered", delay)
                time.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)
        try:
            self.indexer.check()
        except ElasticUnavailable as exc:
            self._unreachable("Elasticsearch", self.settings.es.url, str(exc), None)
        return not self.stopping

    def process(self, records: list[Any]) -> IndexResult:
        """Analyse, publish, write and commit one batch; returns once its offsets are committed."""
        started = time.perf_counter()
        observations: list[Observation] = []
        listings: list[RawPage] = []
        for record in records:
            page = self._parse(record)
            if page is None:
                continue
            if page.page_type == "listing":
                listings.append(page)
            elif page.status >= 400:
                ENRICH_RECORDS.labels(outcome="skipped_status").inc()
                log.info("ad page not indexed: HTTP error status", status=page.status, url=page.url)
            else:
                doc = self._analyse(record, page)
                if doc is not None:
                    observations.append(Observation(doc, Source(record, page)))

        result = self._retrying(lambda: self.indexer.index(observations, listings, self._publish_events))
        for rejection in result.rejected:
            self.dead_letters.add(rejection.observation.token.record, rejection.error_type, rejection.error)
        self._retrying(self.dead_letters.flush)
        self._retrying(lambda: self._commit(records))
        self.events.forget()
        self.consumer.resume(*self.consumer.paused())

        counts: dict[str, int] = {}
        for outcome in result.outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
            ENRICH_RECORDS.labels(outcome=outcome.status).inc()
        ENRICH_RECORDS.labels(outcome="listing").inc(result.pages)
        log.info(
            "batch committed",
            records=len(records),
            listings=result.pages,
            rejected=len(result.rejected),
            seconds=round(time.perf_counter() - started, 3),
            **counts,
        )
        return result

    def _parse(self, record: Any) -> RawPage | None:
        try:
            return RawPage.from_bytes(record.value or b"")
        except ValidationError as exc:
            invalid_json = any(e["type"] == "json_invalid" for e in exc.errors())
            cause = "invalid_json" if invalid_json else "schema"
            self._reject(record, cause, str(exc))
            return None

    def _analyse(self, record: Any, page: RawPage) -> AdDocument | None:
        try:
            return prepared(self.analyze(page), page)
        except Exception as exc:  # noqa: BLE001 - any extractor bug is one poison record, not a dead worker
            log.exception("analysis failed", url=page.url, record_id=page.record_id)
            self._reject(record, "analysis", f"{type(exc).__name__}: {exc}")
            return None

    def _reject(self, record: Any, cause: str, error: str) -> None:
        ENRICH_ERRORS.labels(cause=cause).inc()
        ENRICH_RECORDS.labels(outcome="dead_letter").inc()
        self.dead_letters.add(record, cause, error)

    def _publish_events(self, outcomes: list[Outcome]) -> None:
        events = [
            ad_event(o.document, EVENT_FOR_STATUS[o.status], baseline=o.observation.token.page.baseline)
            for o in outcomes
            if o.status in EVENT_FOR_STATUS and o.document is not None
        ]
        if events:
            self.events.publish(events)

    def _commit(self, records: list[Any]) -> None:
        from kafka import TopicPartition
        from kafka.errors import CommitFailedError
        from kafka.structs import OffsetAndMetadata

        offsets: dict[TopicPartition, int] = {}
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            offsets[tp] = max(offsets.get(tp, -1), record.offset + 1)
        owned = self.consumer.assignment()
        commits = {tp: OffsetAndMetadata(offset, "", -1) for tp, offset in offsets.items() if tp in owned}
        if len(commits) < len(offsets):
            log.warning("partitions moved to another worker during the batch; it re-delivers them")
        try:
            self.consumer.commit(commits, timeout_ms=30000)
        except CommitFailedError as exc:
            ENRICH_ERRORS.labels(cause="commit_failed").inc()
            log.warning(
                "commit refused after a rebalance; the new owner re-delivers (idempotent)", error=str(exc)
            )

    def _retrying(self, step: Callable[[], T]) -> T:
        """Run ``step`` until it succeeds, waiting with backoff while Elasticsearch or Kafka is down."""
        from kafka.errors import KafkaError

        delay = BACKOFF_START
        outage_since: float | None = None
        while True:
            try:
                value = step()
            except ElasticUnavailable as exc:
                service, where, cause, error = (
                    "Elasticsearch",
                    self.settings.es.url,
                    "es_unavailable",
                    str(exc),
                )
            except KafkaError as exc:
                service, where, cause = "Kafka", self.settings.kafka.bootstrap, "kafka_unavailable"
                error = f"{type(exc).__name__}: {exc}"
            else:
                if outage_since is not None:
                    log.info("delivery resumed", after_seconds=round(time.monotonic() - outage_since, 1))
                return value
            outage_since = outage_since or time.monotonic()
            ENRICH_ERRORS.labels(cause=cause).inc()
            self._unreachable(service, where, error, delay)
            self._wait(delay)
            if self.stopping:
                raise Stopped
            delay = min(delay * 2, BACKOFF_MAX)

    def _unreachable(self, service: str, where: str, error: str, retry_in: float | None) -> None:
        log.error(
            f"{service} unreachable at {where}"
            + (f"; retrying in {retry_in:g}s, nothing committed" if retry_in else ""),
            service=service,
            error=error[:500],
        )

    def _wait(self, seconds: float) -> None:
        """Sleep while still polling (partitions paused), so the group does not evict this worker."""
        deadline = time.monotonic() + seconds
        while not self.stopping:
            self.consumer.pause(*self.consumer.assignment())
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            polled = self.consumer.poll(timeout_ms=int(min(remaining, 0.5) * 1000))
            for tp, batch in polled.items():
                self.consumer.seek(tp, batch[0].offset)

    def _report_lag(self) -> None:
        """At most every LAG_EVERY seconds: asking for the end offsets costs a round trip."""
        if time.monotonic() - self._lag_at < LAG_EVERY:
            return
        self._lag_at = time.monotonic()
        report_lag(self.consumer, self.group, self.topic)
