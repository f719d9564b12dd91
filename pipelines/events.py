"""ad.new / ad.changed events for the alerts worker, on the ad-events topic keyed by ad_key.

An event's id is derived from (ad_key, record_id, event_type): when an event has to be published
again — a worker killed between publishing and committing, or a batch merged again after a version
conflict — it carries the same id, so the alerts worker can recognise the repeat.
"""

from __future__ import annotations

import uuid
from typing import Any

import structlog

from vigil.core.metrics import EVENTS_PUBLISHED
from vigil.core.records import AdDocument, AdEvent, EventType

log = structlog.get_logger(__name__)

EVENT_NAMESPACE = uuid.UUID("5c0b6a4e-3f7e-4f43-9a55-2a8a4c3d0e11")
TEXT_LIMIT = 4000
EVENT_FOR_STATUS: dict[str, EventType] = {"new": "ad.new", "changed": "ad.changed"}


def event_id(ad_key: str, record_id: str | None, event_type: str) -> str:
    return uuid.uuid5(EVENT_NAMESPACE, f"{ad_key}\x1f{record_id}\x1f{event_type}").hex


def ad_event(
    doc: AdDocument, event_type: EventType, *, baseline: bool = False, version: dict[str, Any] | None = None
) -> AdEvent:
    """The event for an ad as just merged (``doc`` carries first_seen and the latest content);
    ``version`` (its AdVersion source, pipelines.versions) gives a changed ad's diff."""
    return AdEvent(
        event_id=event_id(doc.ad_key, doc.record_id, event_type),
        event_type=event_type,
        ad_key=doc.ad_key,
        profile_id=doc.profile_id,
        network=doc.network,
        job_id=doc.job_id,
        baseline=baseline,
        url=doc.url,
        title=doc.title,
        text=doc.text[:TEXT_LIMIT],
        country=doc.country,
        language=doc.language,
        entities={kind: values for kind, values in doc.entity_values().items() if values},
        indicators=list(doc.indicator_ids),
        risk=doc.risk,
        escalate=doc.escalate,
        content_hash=doc.content_hash,
        cluster_id=doc.cluster_id,
        first_seen=doc.first_seen,
        version=doc.version,
        changes=(version or {}).get("changes") or [],
        text_diff=(version or {}).get("text_diff") or "",
    )


class EventPublisher:
    """Sends events and waits for Kafka to acknowledge them; remembers what it already sent so a
    batch retried after an Elasticsearch outage does not publish its events twice."""

    def __init__(self, producer, topic: str, flush_timeout: float = 30.0):
        self.producer = producer
        self.topic = topic
        self.flush_timeout = flush_timeout
        self.sent: set[str] = set()

    def publish(self, events: list[AdEvent]) -> int:
        """Send and flush; raises a kafka error when the events were not all acknowledged."""
        fresh = [e for e in events if e.event_id not in self.sent]
        futures = [
            (event, self.producer.send(self.topic, key=event.ad_key.encode("utf-8"), value=event.to_bytes()))
            for event in fresh
        ]
        self.producer.flush(timeout=self.flush_timeout)
        for event, future in futures:
            future.get(timeout=0)
            self.sent.add(event.event_id)
            EVENTS_PUBLISHED.labels(event_type=event.event_type).inc()
            log.debug(
                "event published", event_type=event.event_type, ad_key=event.ad_key, event_id=event.event_id
            )
        return len(fresh)

    def forget(self) -> None:
        """Called once a batch is committed: its events can no longer be retried."""
        self.sent.clear()
