"""Records a consumer cannot process go to the dead-letter topic with the reason, so the consumer
goes on and nobody loses the record: the dead letter names where the original still is (topic,
partition, offset, sha256) and carries a bounded excerpt of it, so it always fits the broker."""

from __future__ import annotations

import hashlib

import structlog

from vigil.core.metrics import DEAD_LETTERS
from vigil.core.records import DeadLetter

log = structlog.get_logger(__name__)

ERROR_LIMIT = 4000


def dead_letter(stage: str, consumer: str, record, error_type: str, error: str, excerpt_bytes: int) -> DeadLetter:
    """The dead letter for a consumed Kafka record (a kafka-python ConsumerRecord)."""
    key = record.key.decode("utf-8", errors="replace") if isinstance(record.key, bytes) else record.key
    value = record.value if isinstance(record.value, bytes) else (record.value or "").encode("utf-8")
    excerpt = value[:excerpt_bytes].decode("utf-8", errors="replace")
    return DeadLetter(
        stage=stage,
        consumer=consumer,
        error_type=error_type,
        error=error[:ERROR_LIMIT],
        source_topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=(key or "")[:1000] or None,
        original=excerpt,
        original_bytes=len(value),
        original_sha256=hashlib.sha256(value).hexdigest(),
        original_truncated=len(value) > excerpt_bytes,
    )


class DeadLetterSink:
    """Collects a batch's dead letters; ``flush`` sends them and waits for Kafka's acknowledgement."""

    def __init__(self, producer, topic: str, stage: str, consumer: str, excerpt_bytes: int, flush_timeout: float = 30.0):
        self.producer = producer
        self.topic = topic
        self.stage = stage
        self.consumer = consumer
        self.excerpt_bytes = excerpt_bytes
        self.flush_timeout = flush_timeout
        self.pending: list[DeadLetter] = []

    def add(self, record, error_type: str, error: str) -> None:
        letter = dead_letter(self.stage, self.consumer, record, error_type, error, self.excerpt_bytes)
        log.warning(
            "dead letter",
            error_type=error_type,
            error=error[:300],
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
        )
        self.pending.append(letter)

    def flush(self) -> int:
        """Send what is pending; raises a kafka error (and keeps them pending) when not acknowledged."""
        if not self.pending:
            return 0
        futures = [
            self.producer.send(self.topic, key=(letter.key or "").encode("utf-8") or None, value=letter.to_bytes())
            for letter in self.pending
        ]
        self.producer.flush(timeout=self.flush_timeout)
        for future in futures:
            future.get(timeout=0)
        sent = len(self.pending)
        DEAD_LETTERS.labels(stage=self.stage).inc(sent)
        self.pending = []
        return sent
