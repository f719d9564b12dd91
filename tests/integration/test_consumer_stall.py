"""The consumer loop's stall watch (vigil.core.consumer.ConsumerLoop.watch) on the real broker.

The stall seen in CI: kafka-python held its partitions, fetched nothing and had been dropped by
the broker without a warning, its rejoin never finishing. The test puts a consumer in that state
(inside kafka-python, none of its partitions fetchable any more, as a JoinGroup that never returns
leaves them: assigned, never fetched) and checks that the loop rebuilds its consumer, which
joins again and receives the records waiting.
"""

from __future__ import annotations

import threading

import pytest

from tests.helpers import wait_for
from vigil.core import kafka
from vigil.core.consumer import Batch, ConsumerLoop, Handler
from vigil.core.metrics import CONSUMER_FAILURES

pytestmark = pytest.mark.integration


class Collecting(Handler):
    name = "stall-test"

    def __init__(self):
        self.values: list[bytes] = []

    def handle(self, batch: Batch) -> None:
        self.values += [record.value for record in batch.records]


def test_a_consumer_that_stops_receiving_joins_its_group_again(vigil_env):
    base = vigil_env.settings
    settings = base.model_copy(
        update={"kafka": base.kafka.model_copy(update={"stall_seconds": 5, "lag_interval_seconds": 1})}
    )
    topic = settings.kafka.topics.ad_events
    handler = Collecting()
    loop = ConsumerLoop(settings, handler, group=f"test-{vigil_env.uid}-stall", topic=topic, poll_ms=200)
    runner = threading.Thread(target=loop.run, name="stall-test-loop", daemon=True)
    runner.start()
    producer = kafka.producer(settings.kafka)
    stalls = CONSUMER_FAILURES.labels(consumer=handler.name, kind="stall")
    try:

        def publish(*values: bytes) -> None:
            for value in values:
                producer.send(topic, value=value, key=value)
            producer.flush(timeout=30)

        publish(b"a", b"b", b"c")
        assert wait_for(lambda: len(handler.values) == 3, timeout=60), handler.values
        first, stalls_before = loop.consumer, stalls._value.get()

        # Nothing fetchable from now on, whatever rebalance follows (one often does just after the
        # first join, and would clear a pending-revocation mark); in-flight fetches are dropped too.
        first._subscription.is_fetchable = lambda tp: False
        first._subscription.fetchable_partitions = lambda: []
        publish(b"d", b"e", b"f")
        assert wait_for(lambda: len(handler.values) >= 6, timeout=60), (
            f"records waiting for 60 s were never received: {handler.values}"
        )
        assert loop.consumer is not first, "received without a rebuild: the stall was not simulated"
        assert stalls._value.get() == stalls_before + 1
        assert sorted(set(handler.values)) == [b"a", b"b", b"c", b"d", b"e", b"f"]
    finally:
        loop.stop()
        runner.join(timeout=60)
        producer.close(timeout=10)
    assert not runner.is_alive(), "the loop did not stop"
