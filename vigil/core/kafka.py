"""kafka-python clients built from configuration, shared by every stage."""

from __future__ import annotations

from typing import Any

from vigil.core.config import KafkaSettings


def producer(settings: KafkaSettings, **overrides: Any):
    """A durable producer: acks=all, retries, idempotent ordering, compressed batches.

    Idempotence is asked for explicitly, so a conflicting override raises instead of silently
    turning it off: a broker's retried write (leader change, lost ack) is then never stored twice.
    lz4 rather than gzip (kafka-python compresses at gzip level 9): a tenth of the CPU on both the
    producer and the broker for a little less compression; large batches so that a linger (see the
    crawl publisher) fills them, as each batch costs its own request, checksum and broker append.
    """
    from kafka import KafkaProducer

    from vigil.core.partitioner import KeyPartitioner

    options: dict[str, Any] = {
        "acks": "all",
        "enable_idempotence": True,
        "retries": 5,
        "max_in_flight_requests_per_connection": 1,
        "linger_ms": 20,
        "batch_size": 256 * 1024,
        "compression_type": "lz4",
        "partitioner": KeyPartitioner(),
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
    """Create the configured topics that do not exist yet, and bring existing ones to the configured
    retention (and message size); returns topic -> 'created' | 'exists' | 'exists; set retention.ms=…'."""
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    client = admin(settings)
    try:
        existing = set(client.list_topics())
        result: dict[str, str] = {}
        for key, name in settings.topics.model_dump().items():
            if name in existing:
                result[name] = _align_configs(client, name, settings.topic_configs(key))
                continue
            topic = NewTopic(
                name=name,
                num_partitions=settings.partitions,
                replication_factor=settings.replication_factor,
                topic_configs=settings.topic_configs(key),
            )
            try:
                client.create_topics([topic])
                result[name] = "created"
            except TopicAlreadyExistsError:
                result[name] = "exists"
        return result
    finally:
        client.close()


def topic_configs(client, name: str, keys: list[str]) -> dict[str, str]:
    """The topic's current values of ``keys`` (broker defaults included)."""
    from kafka.admin import ConfigResource, ConfigResourceType

    found = client.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, name, dict.fromkeys(keys))], config_filter="all"
    )
    return {key: data["value"] for key, data in found["topic"][name].items() if key in keys}


def _align_configs(client, name: str, wanted: dict[str, str]) -> str:
    """Set (incrementally: other topic configs stay) whatever differs from ``wanted``."""
    from kafka.admin import ConfigResource, ConfigResourceType

    current = topic_configs(client, name, list(wanted))
    changes = {key: value for key, value in wanted.items() if current.get(key) != value}
    if not changes:
        return "exists"
    client.alter_configs([ConfigResource(ConfigResourceType.TOPIC, name, changes)], incremental=True)
    return "exists; set " + ", ".join(f"{k}={v} (was {current.get(k)})" for k, v in sorted(changes.items()))


def report_lag(client, group: str, topic: str) -> dict[Any, int | None] | None:
    """Set the consumer-lag gauge: records between each assigned partition's position and its end.

    Returns each assigned partition's lag (None while its position is not known yet), or None when
    Kafka could not be asked (the gauge then keeps its last value).
    """
    from kafka.errors import KafkaError

    from vigil.core.metrics import CONSUMER_LAG

    assigned = list(client.assignment())
    try:
        ends = client.end_offsets(assigned, timeout_ms=5000) if assigned else {}
        positions = {tp: client.position(tp, timeout_ms=5000) for tp in assigned}
    except KafkaError:
        return None
    lags = {tp: None if positions[tp] is None else max(0, ends[tp] - positions[tp]) for tp in assigned}
    CONSUMER_LAG.labels(group=group, topic=topic).set(sum(lag for lag in lags.values() if lag is not None))
    return lags
