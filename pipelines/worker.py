"""The enrichment worker: raw pages in, ad documents, entities and ad events out.

The shared consumer loop (``vigil.core.consumer``) polls a batch of raw pages and hands it here:
each page is analysed, the batch's events are published, and the batch is written with one
Elasticsearch bulk; the loop commits only after that. While Elasticsearch cannot take the batch,
``ElasticUnavailable`` (retriable) makes the loop back off and hand the same batch over again; the
analysed documents are kept meanwhile so nothing is analysed twice. Re-delivery after a crash is
harmless: writes are idempotent (see ``pipelines.indexer``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from pydantic import ValidationError

from pipelines.events import EVENT_FOR_STATUS, EventPublisher, ad_event
from pipelines.indexer import Indexer, Observation, Outcome
from pipelines.near_duplicates import content_hash
from pipelines.network_links import LinkPublisher
from pipelines.versions import Versions
from vigil.core.config import Settings
from vigil.core.consumer import Batch, ConsumerLoop, Handler
from vigil.core.metrics import ENRICH_ERRORS, ENRICH_RECORDS, ES_STATUS
from vigil.core.records import AdDocument, RawPage, ad_key

log = structlog.get_logger(__name__)

STAGE = "enrich"
DEFAULT_GROUP = "vigil-enrich"
MAX_POLL_INTERVAL_MS = 10 * 60 * 1000

Analyze = Callable[[RawPage], AdDocument]


@dataclass
class Source:
    """Where an observation came from: the Kafka record (for dead letters) and the parsed page."""

    record: Any
    page: RawPage


def load_analyzer(settings: Settings) -> Analyze:
    """The analyser, bounded by ``settings.limits``, its models loaded now: loading them holds the
    GIL for seconds, which must not happen inside the first batch, where it would starve the
    consumer's heartbeat."""
    from pipelines.analysis import analyze, configure

    configure(settings.limits)
    body = "<html><body><h1>Warm up</h1><p>Call 0151 1234 5678, 22 years, new in town.</p></body></html>"
    analyze(
        RawPage(
            profile_id="warm-up", job_id="warm-up", url="http://warm.up/1", canonical_url="http://warm.up/1",
            final_url="http://warm.up/1", status=200, page_type="ad", body=body, body_sha256="", country="DE",
        )
    )
    return analyze


def prepared(doc: AdDocument, page: RawPage) -> AdDocument:
    """The analysed ad with the identity and provenance the indexer relies on, whatever analyze() set."""
    return doc.model_copy(
        update={
            "ad_key": ad_key(page.profile_id, page.ad_id, page.canonical_url),
            "profile_id": page.profile_id,
            "record_id": page.record_id,
            "job_id": page.job_id,
            "fetched_at": doc.fetched_at or page.fetched_at,
            "content_hash": doc.content_hash or content_hash(doc.title, doc.text),
            "capture": page.capture,
        }
    )


class EnrichHandler(Handler):
    name = STAGE

    def __init__(self, settings: Settings, analyze: Analyze | None = None):
        self.settings = settings
        self.analyze = analyze
        self._analysed: dict[tuple[str, int, int], tuple[str, Any]] = {}
        self._health_at = 0.0

    def start(self, loop: ConsumerLoop) -> None:
        from vigil.core.elastic import client
        from vigil.core.evidence import open_store

        self.analyze = self.analyze or load_analyzer(self.settings)
        self.es = client(self.settings.es, max_retries=0)
        self.indexer = Indexer(self.es, self.settings.es.indices, self.settings.limits)
        self.versions = Versions(self.es, self.settings, lambda: open_store(self.settings))
        self.events = EventPublisher(loop.producer, self.settings.kafka.topics.ad_events)
        self.links = LinkPublisher(loop.producer, self.settings.kafka.topics.network_links, self.settings.networks)
        try:
            self.indexer.check()
        except Exception as exc:  # noqa: BLE001 - an early warning only; every batch retries on its own
            log.error(f"Elasticsearch unreachable at {self.settings.es.url}", error=str(exc)[:500])

    def tick(self) -> None:
        """Every lag interval: the cluster's health, for the 'Elasticsearch red' alert."""
        if time.monotonic() - self._health_at < self.settings.kafka.lag_interval_seconds:
            return
        self._health_at = time.monotonic()
        try:
            status = self.es.cluster.health(timeout="2s")["status"]
        except Exception:  # noqa: BLE001 - unreachable is a value of the gauge, not an error here
            status = "unreachable"
        ES_STATUS.set({"green": 0, "yellow": 1, "red": 2}.get(status, 3))

    def handle(self, batch: Batch) -> None:
        started = time.perf_counter()
        observations: list[Observation] = []
        listings: list[RawPage] = []
        for record in batch.records:
            kind, value = self._outcome(record)
            if kind == "dead":
                cause, error = value
                ENRICH_ERRORS.labels(cause=cause).inc()
                ENRICH_RECORDS.labels(outcome="dead_letter").inc()
                batch.dead_letter(record, cause, error)
            elif kind == "listing":
                listings.append(value)
            elif kind == "skipped":
                ENRICH_RECORDS.labels(outcome="skipped_status").inc()
            else:
                observations.append(Observation(value[0], Source(record, value[1])))

        self.versions.strip_screenshots(observations)
        result = self.indexer.index(observations, listings, self._publish_events)
        for rejection in result.rejected:
            batch.dead_letter(rejection.observation.token.record, rejection.error_type, rejection.error)
        self._analysed.clear()
        self.events.forget()
        self.links.forget()

        counts: dict[str, int] = {}
        for outcome in result.outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
            ENRICH_RECORDS.labels(outcome=outcome.status).inc()
        ENRICH_RECORDS.labels(outcome="listing").inc(result.pages)
        log.info(
            "batch handled",
            records=len(batch.records),
            listings=result.pages,
            rejected=len(result.rejected),
            seconds=round(time.perf_counter() - started, 3),
            **counts,
        )

    def _outcome(self, record: Any) -> tuple[str, Any]:
        """What one record is (kept across retries of its batch, so nothing is analysed twice)."""
        key = (record.topic, record.partition, record.offset)
        if key not in self._analysed:
            self._analysed[key] = self._classify(record)
        return self._analysed[key]

    def _classify(self, record: Any) -> tuple[str, Any]:
        try:
            page = RawPage.from_bytes(record.value or b"")
        except ValidationError as exc:
            invalid_json = any(e["type"] == "json_invalid" for e in exc.errors())
            return "dead", ("invalid_json" if invalid_json else "schema", str(exc))
        if page.page_type == "listing":
            return "listing", page
        if page.status >= 400:
            log.info("ad page not indexed: HTTP error status", status=page.status, url=page.url)
            return "skipped", page
        try:
            return "ad", (prepared(self.analyze(page), page), page)
        except Exception as exc:  # noqa: BLE001 - any extractor bug is one poison record, not a dead worker
            log.exception("analysis failed", url=page.url, record_id=page.record_id)
            return "dead", ("analysis", f"{type(exc).__name__}: {exc}")

    def _publish_events(self, outcomes: list[Outcome]) -> None:
        """Before the ads are written: their versions (pipelines.versions), then the events with
        the diff of each changed ad."""
        versions = self.versions.record(outcomes)
        events = [
            ad_event(
                o.document,
                EVENT_FOR_STATUS[o.status],
                baseline=o.observation.token.page.baseline,
                version=versions.get(id(o)),
            )
            for o in outcomes
            if o.status in EVENT_FOR_STATUS and o.document is not None
        ]
        if events:
            self.events.publish(events)
        self.links.publish(
            [o.document for o in outcomes if o.status in EVENT_FOR_STATUS and o.document is not None]
        )


def run_enrich_worker(
    settings: Settings, *, group: str = DEFAULT_GROUP, batch_size: int = 200, analyze: Analyze | None = None
) -> int:
    loop = ConsumerLoop(
        settings,
        EnrichHandler(settings, analyze),
        group=group,
        topic=settings.kafka.topics.pages_raw,
        batch_size=batch_size,
        # A batch of pages that each use their whole analysis budget must not get the worker
        # evicted from its group (and the batch handed to the next worker, for ever).
        max_poll_interval_ms=max(MAX_POLL_INTERVAL_MS, int(batch_size * settings.limits.analysis_seconds * 1500)),
    )
    return loop.run()
