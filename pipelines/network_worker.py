"""The network worker: link records in, network ids on ads, network documents and events out.

One consumer group (``networks.group_id``) reads the network-links topic through the shared
consumer loop (vigil.core.consumer); enrich workers key every record alike, so one member of the
group receives them all, in one order, and is the only writer of the network state. Per batch: observe each record (pipelines.networks.Linker over the
state index, read with realtime ``mget`` through a write-back cache), publish the network events,
set ``network_id`` on the changed ads, write the state, and only then commit. A failure drops the
cache and observes the batch again: an ad whose features are already stored changes nothing, and
events carry ids derived from their content, so the alerts worker recognises a repeat.

No painless here either: ads get their ``network_id`` with partial-document updates, which an
enrich worker's concurrent write (``if_seq_no``) notices as a conflict and merges again
(``pipelines.indexer.merge_ad`` keeps the id). An ad the enrich worker has not written yet is
retried on the following polls.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import Any

import structlog
from pydantic import ValidationError

from pipelines.events import EVENT_NAMESPACE
from pipelines.networks import NETWORK, Change, Linker
from vigil.core.config import Settings
from vigil.core.consumer import Batch, ConsumerLoop, Handler
from vigil.core.metrics import EVENTS_PUBLISHED
from vigil.core.records import LinkRecord, NetworkEvent, doc_id, utcnow

log = structlog.get_logger("vigil.networks")

STAGE = "networks"
CACHE_LIMIT = 50000
PENDING_SECONDS = 120.0


def network_event_id(network_id: str, event_type: str, detail: str) -> str:
    return uuid.uuid5(EVENT_NAMESPACE, f"{network_id}\x1f{event_type}\x1f{detail}").hex


def network_event(fields: dict[str, Any]) -> NetworkEvent:
    detail = ",".join(fields.get("new_countries") or []) or str(fields["size"])
    return NetworkEvent(
        event_id=network_event_id(fields["network_id"], fields["event_type"], detail), **fields
    )


class ElasticStore:
    """The linker's Store on Elasticsearch: networks in the networks alias, the rest in the state
    alias (wrapped: searchable ``kind``/``key``/``network_id``, the rest unindexed in ``data``)."""

    def __init__(self, es, networks_index: str, state_index: str):
        self.es = es
        self.networks_index = networks_index
        self.state_index = state_index
        self.cache: dict[tuple[str, str], dict[str, Any] | None] = {}
        self.dirty: set[tuple[str, str]] = set()

    def _id(self, kind: str, key: str) -> str:
        return doc_id(key) if kind == NETWORK else doc_id(f"{kind}:{key}")

    def _index(self, kind: str) -> str:
        return self.networks_index if kind == NETWORK else self.state_index

    def get(self, kind: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        ids = list(dict.fromkeys(ids))
        missing = [i for i in ids if (kind, i) not in self.cache]
        if missing:
            response = self.es.mget(
                index=self._index(kind), ids=[self._id(kind, i) for i in missing], realtime=True
            )
            for key, item in zip(missing, response["docs"], strict=True):
                if "error" in item:
                    raise RuntimeError(f"cannot read {self._index(kind)}: {item['error']}")
                source = item.get("_source") if item.get("found") else None
                self.cache[(kind, key)] = (source if kind == NETWORK else source["data"]) if source else None
        return {i: self.cache[(kind, i)] for i in ids if self.cache.get((kind, i)) is not None}

    def put(self, kind: str, id: str, doc: dict[str, Any]) -> None:
        self.cache[(kind, id)] = doc
        self.dirty.add((kind, id))

    def delete(self, kind: str, id: str) -> None:
        self.cache[(kind, id)] = None
        self.dirty.add((kind, id))

    def flush(self) -> int:
        ops: list[dict[str, Any]] = []
        for kind, key in sorted(self.dirty):
            doc = self.cache.get((kind, key))
            meta = {"_index": self._index(kind), "_id": self._id(kind, key)}
            if doc is None:
                ops.append({"delete": meta})
            elif kind == NETWORK:
                ops += [{"index": meta}, {**doc, "updated_at": utcnow().isoformat()}]
            else:
                wrapped = {"kind": kind, "key": key, "network_id": doc.get("network_id"), "data": doc}
                ops += [{"index": meta}, wrapped]
        if ops:
            response = self.es.bulk(operations=ops)
            failed = [
                item for item in response["items"] for action, outcome in item.items()
                if outcome.get("status", 500) >= 300 and not (action == "delete" and outcome.get("status") == 404)
            ]  # fmt: skip
            if failed:
                raise RuntimeError(f"network state not written: {str(failed[0])[:300]}")
        self.dirty.clear()
        if len(self.cache) > CACHE_LIMIT:
            self.cache.clear()
        return len(ops)

    def reset(self) -> None:
        """Forget everything unwritten (the batch is observed again from Elasticsearch)."""
        self.cache.clear()
        self.dirty.clear()


class NetworkHandler(Handler):
    """The network worker's record handling, plugged into the shared consumer loop."""

    name = STAGE

    def __init__(self, settings: Settings):
        self.settings = settings
        self.pending: dict[str, tuple[str, float]] = {}

    def start(self, loop: ConsumerLoop) -> None:
        from vigil.core.elastic import client

        self.producer = loop.producer
        self.es = client(self.settings.es, max_retries=0)
        indices = self.settings.es.indices
        self.store = ElasticStore(self.es, indices.networks, indices.network_state)
        self.linker = Linker(self.store, self.settings.networks)

    def handle(self, batch: Batch) -> None:
        """Observe, publish, write; raises when Elasticsearch or Kafka cannot take the batch (the
        loop hands it over again: the unwritten state is dropped and observed afresh)."""
        total = Change()
        try:
            for record in batch.records:
                try:
                    link = LinkRecord.from_bytes(record.value or b"")
                except ValidationError as exc:
                    batch.dead_letter(record, "schema", str(exc))
                    continue
                change = self.linker.observe(link)
                total.assignments.update(change.assignments)
                total.networks.update(change.networks)
                total.removed |= change.removed
                total.events += change.events
            self.publish(total.events)
            self.assign(total.assignments)
            self.store.flush()
        except Exception:
            self.store.reset()
            raise
        log.info(
            "batch linked", records=len(batch.records), networks=len(total.networks), events=len(total.events)
        )

    def tick(self) -> None:
        self.retry_pending()

    def publish(self, events: list[dict[str, Any]]) -> None:
        topic = self.settings.kafka.topics.ad_events
        futures = []
        for fields in events:
            event = network_event(fields)
            futures.append(
                (event, self.producer.send(topic, key=event.network_id.encode(), value=event.to_bytes()))
            )
        if futures:
            self.producer.flush(timeout=30)
        for event, future in futures:
            future.get(timeout=0)
            EVENTS_PUBLISHED.labels(event_type=event.event_type).inc()
            log.info(
                "network event", event_type=event.event_type, network_id=event.network_id, size=event.size
            )

    def assign(self, assignments: dict[str, str]) -> None:
        """Set network_id on the ads; ads not written yet are retried by ``retry_pending``."""
        now = time.monotonic()
        for key, nid in assignments.items():
            self.pending[key] = (nid, now)
        self.retry_pending()

    def retry_pending(self) -> None:
        if not self.pending:
            return
        keys = sorted(self.pending)
        ops: list[dict[str, Any]] = []
        for key in keys:
            ops += [
                {
                    "update": {
                        "_index": self.settings.es.indices.ads,
                        "_id": doc_id(key),
                        "retry_on_conflict": 5,
                    }
                },
                {"doc": {"network_id": self.pending[key][0]}},
            ]
        response = self.es.bulk(operations=ops)
        now = time.monotonic()
        for key, item in zip(keys, response["items"], strict=True):
            outcome = item["update"]
            status = outcome.get("status", 500)
            if status < 300:
                self.pending.pop(key, None)
            elif status == 404 and now - self.pending[key][1] < PENDING_SECONDS:
                continue
            elif status == 404:
                log.warning("ad never appeared; its network id is kept in the state only", ad_key=key)
                self.pending.pop(key, None)
            else:
                raise RuntimeError(f"network id not written to {key}: {outcome.get('error')}")


def run_network_worker(settings: Settings, *, group: str | None = None, batch_size: int = 200) -> int:
    """Consume link records until SIGTERM/SIGINT."""
    return ConsumerLoop(
        settings,
        NetworkHandler(settings),
        group=group or settings.networks.group_id,
        topic=settings.kafka.topics.network_links,
        batch_size=batch_size,
    ).run()
