"""Small helpers shared by the tests (import as ``from tests.helpers import free_port``)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it; tiny race until it is bound)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


# How long to wait for a worker process's first output: seconds when the machine is idle, a minute
# or more at load 15-20 (analysers and clients to load, a consumer group to join). Waits end as
# soon as their condition holds, so only a failing test pays for it.
FIRST_OUTPUT = 240.0


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0, interval: float = 0.2) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass; returns the last result."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def running(service, what: str, **optional):
    """The local stack's ``service``, started now through the stack code if it is not healthy
    (``optional``: ``with_postgres=True``, ``with_s3=True``); never stopped by the tests."""
    import pytest

    from vigil.app.stack import StackError, ensure_up

    if not service.healthy():
        try:
            ensure_up(service.settings, **optional)
        except StackError as exc:
            pytest.fail(f"the local {what} is not available: {exc}", pytrace=False)
    return service


def group_caught_up(settings, group: str, topic: str) -> bool:
    """True when consumer group ``group`` has committed every record now on ``topic``."""
    from kafka import TopicPartition

    from vigil.core.kafka import consumer

    probe = consumer(settings.kafka, group)
    try:
        partitions = probe.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in partitions]
        ends = probe.end_offsets(tps)
        return bool(tps) and all((probe.committed(tp) or 0) == ends[tp] for tp in tps)
    finally:
        probe.close(autocommit=False)


class SentFuture:
    """What kafka-python's ``send`` returns, already acknowledged."""

    def get(self, timeout=None):
        return None


class RecordingProducer:
    """Stands in for kafka-python's producer in unit tests of code that only sends: keeps (topic,
    key, value) of every send. Integration tests use the real broker."""

    def __init__(self):
        self.sent: list[tuple[str, bytes | None, bytes]] = []

    def send(self, topic, key=None, value=None):
        self.sent.append((topic, key, value))
        return SentFuture()

    def flush(self, timeout=None):
        pass
