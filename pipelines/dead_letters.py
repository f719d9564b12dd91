"""Records a stage cannot process go to the dead-letter topic, with the reason, so the stage can
go on and nobody loses the record: it can be inspected and replayed from there."""

from __future__ import annotations

import structlog

from vigil.core.metrics import DEAD_LETTERS
from vigil.core.records import DeadLetter

log = structlog.get_logger(__name__)

ERROR_LIMIT = 4000


def dead_letter(stage: str, record, error_type: str, error: str) -> DeadLetter:
    """The dead letter for a consumed Kafka record (a kafka-python ConsumerRecord)."""
    key = record.key.decode("utf-8", errors="replace") if isinstance(record.key, bytes) else record.key
    return DeadLetter.for_value(
        record.value,
        stage=stage,
        error_type=error_type,
        error=error[:ERROR_LIMIT],
        source_topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=key,
    )


class DeadLetterSink:
    """Collects a batch's dead letters; ``flush`` sends them and waits for Kafka's acknowledgement."""

    def __init__(self, producer, topic: str, stage: str, flush_timeout: float = 30.0):
        self.producer = producer
        self.topic = topic
        self.stage = stage
        self.flush_timeout = flush_timeout
        self.pending: list[DeadLetter] = []

    def add(self, record, error_type: str, error: str) -> None:
        letter = dead_letter(self.stage, record, error_type, error)
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
            self.producer.send(
                self.topic, key=(letter.key or "").encode("utf-8") or None, value=letter.to_bytes()
            )
            for letter in self.pending
        ]
        self.producer.flush(timeout=self.flush_timeout)
        for future in futures:
            future.get(timeout=0)
        sent = len(self.pending)
        DEAD_LETTERS.labels(stage=self.stage).inc(sent)
        self.pending = []
        return sent
