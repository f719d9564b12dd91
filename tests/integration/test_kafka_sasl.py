"""Vigil's Kafka clients against a real SASL_PLAINTEXT + SCRAM-SHA-512 broker with ACLs.

A second local broker (its own ports and state directory, the main stack's jars) is formatted
with two SCRAM users: ``admin`` (the broker's own login, a super user) and ``vigil`` (the
application, allowed only what ACLs grant it). Vigil's producer, consumer and topic creation work
as ``vigil`` on its topics; they fail without credentials, with a wrong password, and on a topic
outside the ACLs. The main stack is left alone.
"""

from __future__ import annotations

import os
import secrets
import uuid

import pytest

from tests.helpers import free_port, wait_for

pytestmark = pytest.mark.integration

PREFIX = "sasl-test."


def _settings(home, bport: int, cport: int, user: str | None, password: str | None, protocol: str = "SASL_PLAINTEXT"):
    from vigil.core.config import Settings

    kafka: dict = {
        "bootstrap": f"127.0.0.1:{bport}",
        "controller_port": cport,
        "partitions": 1,
        "security_protocol": protocol,
        "topics": {
            "crawl_jobs": f"{PREFIX}jobs",
            "job_status": f"{PREFIX}status",
            "pages_raw": f"{PREFIX}pages",
            "pages_dlq": f"{PREFIX}dlq",
            "ad_events": f"{PREFIX}events",
            "network_links": f"{PREFIX}links",
        },
    }
    if user is not None:
        kafka.update(sasl_mechanism="SCRAM-SHA-512", sasl_username=user, sasl_password=password)
    return Settings(home=home, kafka=kafka)


@pytest.fixture
def sasl_broker(stack, tmp_path, monkeypatch):
    from vigil.app.stack.kafka import Kafka

    main = Kafka(stack)
    if not main.fetched():
        pytest.skip("Kafka's jars are not fetched (vigil stack fetch)")
    # VIGIL_* variables win over arguments: without this, VIGIL_HOME would put the second broker
    # in the main stack's state directory.
    for name in [n for n in os.environ if n.startswith("VIGIL_")]:
        monkeypatch.delenv(name)
    bport, cport = free_port(), free_port()
    passwords = {"admin": secrets.token_urlsafe(18), "vigil": secrets.token_urlsafe(18)}
    home = tmp_path / "sasl-home"
    admin_settings = _settings(home, bport, cport, "admin", passwords["admin"])
    broker = Kafka(admin_settings, lib=main.lib, scram_users={"vigil": passwords["vigil"]})
    assert broker.sasl
    assert broker.root.is_relative_to(tmp_path) and broker.pid_path.is_relative_to(tmp_path), broker.root
    assert broker.log.is_relative_to(tmp_path) and not broker.formatted()
    broker.start()
    try:
        broker.wait_ready(150)

        def from_env(user: str | None, password: str | None, protocol: str = "SASL_PLAINTEXT"):
            """Client settings the way a deployment gives them: VIGIL_KAFKA_* variables."""
            from vigil.core.config import Settings

            with monkeypatch.context() as env:
                env.setenv("VIGIL_KAFKA_BOOTSTRAP", f"127.0.0.1:{bport}")
                env.setenv("VIGIL_KAFKA_SECURITY_PROTOCOL", protocol)
                if user is not None:
                    env.setenv("VIGIL_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
                    env.setenv("VIGIL_KAFKA_SASL_USERNAME", user)
                    env.setenv("VIGIL_KAFKA_SASL_PASSWORD", password or "")
                base = _settings(home, bport, cport, None, None).kafka
                return Settings(home=home, kafka={"partitions": 1, "topics": base.topics.model_dump()})

        yield {
            "admin": admin_settings,
            "vigil": from_env("vigil", passwords["vigil"]),
            "wrong": from_env("vigil", "not-the-password"),
            "anonymous": from_env(None, None, protocol="PLAINTEXT"),
            "broker": broker,
        }
    finally:
        broker.stop()


def _grant(admin_settings) -> None:
    """What docs/security.md gives the application: its topics and groups, by prefix."""
    from kafka.admin import (
        ACL,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        ResourcePattern,
        ResourceType,
    )

    from vigil.core.kafka import admin

    client = admin(admin_settings.kafka)
    try:
        acls = [
            ACL("User:vigil", "*", operation, ACLPermissionType.ALLOW,
                ResourcePattern(ResourceType.TOPIC, PREFIX, ACLResourcePatternType.PREFIXED))
            for operation in (ACLOperation.CREATE, ACLOperation.DESCRIBE, ACLOperation.DESCRIBE_CONFIGS,
                              ACLOperation.READ, ACLOperation.WRITE)
        ]
        acls.append(ACL("User:vigil", "*", ACLOperation.READ, ACLPermissionType.ALLOW,
                        ResourcePattern(ResourceType.GROUP, "sasl-test-", ACLResourcePatternType.PREFIXED)))
        result = client.create_acls(acls)
        assert not result["failed"], result
        client.create_topics([_new_topic("forbidden.topic")])
    finally:
        client.close()


def _new_topic(name: str):
    from kafka.admin import NewTopic

    return NewTopic(name=name, num_partitions=1, replication_factor=1)


def test_vigil_clients_with_sasl_scram_and_acls(sasl_broker):
    import kafka.errors as kerrors

    from vigil.core.kafka import consumer, ensure_topics, producer

    properties = (sasl_broker["broker"].config_dir / "server.properties")
    assert oct(properties.stat().st_mode & 0o777) == "0o600"
    _grant(sasl_broker["admin"])
    settings = sasl_broker["vigil"]
    assert settings.kafka.sasl_username == "vigil" and settings.kafka.security_protocol == "SASL_PLAINTEXT"

    def created() -> bool:
        try:
            ensure_topics(settings.kafka)  # CreateTopics as vigil, allowed by the prefixed ACL
        except kerrors.TopicAuthorizationFailedError:
            return False  # the ACLs reach the broker's authorizer through the metadata log, shortly
        return True

    assert wait_for(created, timeout=20, interval=1)

    topic = settings.kafka.topics.pages_raw
    value = f"hello {uuid.uuid4().hex}".encode()
    client = producer(settings.kafka)
    try:
        client.send(topic, key=b"k", value=value).get(30)
    finally:
        client.close()
    reader = consumer(settings.kafka, "sasl-test-group", topic, auto_offset_reset="earliest", consumer_timeout_ms=15000)
    try:
        assert any(m.value == value for m in reader)  # stops at the message (or after 15 s without)
    finally:
        reader.close()

    # Without credentials (PLAINTEXT to a SASL listener) and with a wrong password: nothing gets through.
    for who in ("anonymous", "wrong"):
        with pytest.raises(kerrors.KafkaError):
            failing = producer(sasl_broker[who].kafka, max_block_ms=5000, request_timeout_ms=5000)
            try:
                failing.send(topic, value=b"x").get(10)
            finally:
                failing.close(timeout=2)

    # Authenticated, but outside the ACLs: refused by the authorizer.
    outside = producer(settings.kafka, max_block_ms=8000, request_timeout_ms=5000, retries=0, enable_idempotence=False)
    try:
        with pytest.raises((kerrors.TopicAuthorizationFailedError, kerrors.KafkaTimeoutError)):
            outside.send("forbidden.topic", value=b"x").get(10)
    finally:
        outside.close(timeout=2)
