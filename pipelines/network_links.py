"""Enrich workers' side of networks: one LinkRecord per new or changed ad, on the links topic.

Every record carries the same key, so the topic's records for all ads land in one partition and
the network worker applies them in one order (docs/networks.md). Published before the batch is
written, like ad events, so a crash after the write cannot lose them; a re-sent record is
harmless (the linker ignores an ad whose features did not change).
"""

from __future__ import annotations

from pipelines.networks import link_record
from vigil.core.config import NetworksSettings
from vigil.core.records import AdDocument

LINKS_KEY = b"networks"


class LinkPublisher:
    def __init__(self, producer, topic: str, settings: NetworksSettings, flush_timeout: float = 30.0):
        self.producer = producer
        self.topic = topic
        self.settings = settings
        self.flush_timeout = flush_timeout
        self.sent: set[tuple[str, str | None]] = set()

    def publish(self, documents: list[AdDocument]) -> int:
        """Send and flush; raises a kafka error when the records were not all acknowledged."""
        fresh = [d for d in documents if (d.ad_key, d.record_id) not in self.sent]
        futures = [
            (
                doc,
                self.producer.send(
                    self.topic, key=LINKS_KEY, value=link_record(doc, self.settings).to_bytes()
                ),
            )
            for doc in fresh
        ]
        if futures:
            self.producer.flush(timeout=self.flush_timeout)
        for doc, future in futures:
            future.get(timeout=0)
            self.sent.add((doc.ad_key, doc.record_id))
        return len(fresh)

    def forget(self) -> None:
        """Called once a batch is committed: its records can no longer be retried."""
        self.sent.clear()
