"""Joining a consumer group only once the topic's partitions are known.

kafka-python's range assignor hands out nothing when the group forms before the member has the
topic's metadata ("No partition metadata for topic"), and the member then idles until the next
metadata refresh (minutes). Fetching the metadata first avoids that.
"""

from __future__ import annotations

import threading

import structlog

log = structlog.get_logger("vigil.consuming")


def subscribe_when_ready(consumer, topic: str, stop: threading.Event, listener=None) -> bool:
    """Wait (naming the problem) until ``topic`` has partitions, then subscribe; False if stopped."""
    from kafka.errors import KafkaError

    delay = 1.0
    while not stop.is_set():
        try:
            consumer.topics()
            if consumer.partitions_for_topic(topic):
                consumer.subscribe([topic], listener=listener) if listener else consumer.subscribe([topic])
                return True
            log.warning(
                "topic has no partitions yet (run `vigil init`?); waiting", topic=topic, retry_in=delay
            )
        except KafkaError as exc:
            log.error("Kafka unreachable; waiting", error=f"{type(exc).__name__}: {exc}", retry_in=delay)
        stop.wait(delay)
        delay = min(delay * 2, 30.0)
    return False
