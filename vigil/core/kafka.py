"""kafka-python clients built from configuration, shared by every stage."""

from __future__ import annotations

from typing import Any

from vigil.core.config import KafkaSettings


def producer(settings: KafkaSettings, **overrides: Any):
    """A durable producer: acks=all, retries, idempotent ordering, compressed batches.

    Idempotence is asked for explicitly, so a conflicting override raises instead of silently
    turning it off: a broker's retried write (leader change, lost ack) is then never stored twice.
    """
    from kafka import KafkaProducer

    options: dict[str, Any] = {
        "acks": "all",
        "enable_idempotence": True,
        "retries": 5,
        "max_in_flight_requests_per_connection": 1,
        "linger_ms": 20,
        "compression_type": "gzip",
        "max_request_size": settings.max_message_bytes,
        "request_timeout_ms": 30000,
        "max_block_ms": 30000,
        **settings.client_options(),
    }
    options.update(overrides)
    return KafkaProducer(**options)


def consumer(settings: KafkaSettings, group_id: str | None, *topics: str, **overrides: Any):
    """A consumer that commits only when told to (at-least-once)."""
    from kafka import KafkaConsumer

    options: dict[str, Any] = {
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "session_timeout_ms": settings.session_timeout_ms,
        "heartbeat_interval_ms": max(1000, settings.session_timeout_ms // 4),
        "max_partition_fetch_bytes": settings.max_message_bytes + 1024 * 1024,
        "fetch_max_bytes": max(52428800, settings.max_message_bytes * 2),
        **settings.client_options(),
    }
    options.update(overrides)
    return KafkaConsumer(*topics, **options)


def admin(settings: KafkaSettings, **overrides: Any):
    from kafka.admin import KafkaAdminClient

    return KafkaAdminClient(**{**settings.client_options(), "request_timeout_ms": 30000, **overrides})


def ensure_topics(settings: KafkaSettings) -> dict[str, str]:
    """Create the configured topics that do not exist yet; returns topic -> 'created' | 'exists'."""
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    client = admin(settings)
    try:
        existing = set(client.list_topics())
        result: dict[str, str] = {}
        for name in settings.topics.model_dump().values():
            if name in existing:
                result[name] = "exists"
                continue
            topic = NewTopic(
                name=name,
                num_partitions=settings.partitions,
                replication_factor=settings.replication_factor,
                topic_configs={
                    "retention.ms": str(settings.retention_ms),
                    "max.message.bytes": str(settings.max_message_bytes + 1024 * 1024),
                },
            )
            try:
                client.create_topics([topic])
                result[name] = "created"
            except TopicAlreadyExistsError:
                result[name] = "exists"
        return result
    finally:
        client.close()


def report_lag(client, group: str, topic: str) -> int | None:
    """Set the consumer-lag gauge: records between each assigned partition's position and its end.

    Returns the lag, or None when Kafka could not be asked (the gauge then keeps its last value).
    """
    from kafka.errors import KafkaError

    from vigil.core.metrics import CONSUMER_LAG

    assigned = list(client.assignment())
    try:
        ends = client.end_offsets(assigned, timeout_ms=5000) if assigned else {}
        lag = sum(max(0, ends[tp] - client.position(tp, timeout_ms=5000)) for tp in assigned)
    except KafkaError:
        return None
    CONSUMER_LAG.labels(group=group, topic=topic).set(lag)
    return lag
