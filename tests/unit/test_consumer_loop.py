"""The one consumer loop (vigil.core.consumer) with an in-memory stand-in for kafka-python's
consumer and producer: the loop's own logic (commit, retry, dead letters, held offsets). The same
loop against the real broker is exercised by tests/integration/test_enrich_worker.py and others."""

from __future__ import annotations

import json
from collections import namedtuple

import pytest
from kafka import TopicPartition
from kafka.errors import KafkaConnectionError, MessageSizeTooLargeError

from tests.helpers import RecordingProducer
from vigil.core import consumer as consumer_module
from vigil.core.config import Settings
from vigil.core.consumer import Batch, ConsumerLoop, Handler, Retriable, is_retriable
from vigil.core.dead_letters import DeadLetterSink

Record = namedtuple("Record", "topic partition offset key value")
TP = TopicPartition("t", 0)


class Consumer:
    def __init__(self):
        self.commits = []
        self.paused_tps = set()
        self.seeks = []

    def assignment(self):
        return {TP}

    def pause(self, *tps):
        self.paused_tps |= set(tps)

    def resume(self, *tps):
        self.paused_tps -= set(tps)

    def paused(self):
        return set(self.paused_tps)

    def poll(self, timeout_ms=0, max_records=None):
        return {}

    def seek(self, tp, offset):
        self.seeks.append((tp, offset))

    def commit(self, offsets, timeout_ms=None):
        self.commits.append({tp: meta.offset for tp, meta in offsets.items()})


def make_loop(handler: Handler) -> ConsumerLoop:
    settings = Settings()
    loop = ConsumerLoop(settings, handler, group="g", topic="t")
    loop.consumer = Consumer()
    loop.producer = RecordingProducer()
    loop.dead_letters = DeadLetterSink(loop.producer, "dlq", handler.name, "g", excerpt_bytes=16)
    return loop


def records(*values: bytes, start: int = 0) -> list[Record]:
    return [Record("t", 0, start + n, b"k", v) for n, v in enumerate(values)]


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(consumer_module, "BACKOFF_START", 0.001)
    monkeypatch.setattr(consumer_module, "BACKOFF_MAX", 0.002)


class Recorder(Handler):
    name = "test"

    def __init__(self, fail_on: bytes | None = None, outages: int = 0):
        self.handled: list[bytes] = []
        self.fail_on = fail_on
        self.outages = outages

    def handle(self, batch: Batch) -> None:
        if self.outages:
            self.outages -= 1
            raise Retriable("down")
        for record in batch.records:
            if record.value == self.fail_on:
                raise ValueError("poison")
            if record.value == b"bad":
                batch.dead_letter(record, "schema", "not a record")
                continue
            self.handled.append(record.value)


def test_a_handled_batch_is_committed_past_its_last_record():
    handler = Recorder()
    loop = make_loop(handler)
    assert loop.deliver(records(b"a", b"b", b"c"))
    loop.commit()
    assert handler.handled == [b"a", b"b", b"c"]
    assert loop.consumer.commits == [{TP: 3}]
    loop.commit()
    assert len(loop.consumer.commits) == 1, "an unchanged offset is not committed again"


def test_a_retriable_failure_retries_the_same_batch_with_partitions_paused():
    handler = Recorder(outages=3)
    loop = make_loop(handler)
    assert loop.deliver(records(b"a", b"b"))
    assert handler.handled == [b"a", b"b"] and handler.outages == 0
    assert not loop.consumer.paused(), "partitions resume once the service is back"
    loop.commit()
    assert loop.consumer.commits == [{TP: 2}]


def test_a_poison_record_is_dead_lettered_and_the_records_behind_it_go_through():
    handler = Recorder(fail_on=b"poison")
    loop = make_loop(handler)
    assert loop.deliver(records(b"a", b"poison", b"bad", b"c"))
    loop.commit()
    assert handler.handled == [b"a", b"a", b"c"], "the batch fails once, then goes record by record"
    letters = [json.loads(value) for topic, _, value in loop.producer.sent]
    assert [(d["offset"], d["error_type"]) for d in letters] == [(1, "handler"), (2, "schema")]
    assert all(d["consumer"] == "g" and d["stage"] == "test" and d["source_topic"] == "t" for d in letters)
    assert "ValueError: poison" in letters[0]["error"]
    assert loop.consumer.commits == [{TP: 4}]


def test_a_stop_during_an_outage_leaves_the_batch_uncommitted():
    handler = Recorder(outages=10**6)
    loop = make_loop(handler)
    loop.stopping.set()
    assert loop.deliver(records(b"a")) is False
    loop.commit()
    assert loop.consumer.commits == [] and handler.handled == []


def test_commits_stop_before_an_offset_the_handler_still_holds():
    class Holding(Recorder):
        hold: dict = {TP: 1}

        def held(self):
            return self.hold

    handler = Holding()
    loop = make_loop(handler)
    loop.deliver(records(b"a", b"b", b"c"))
    loop.commit()
    handler.hold = {}
    loop.commit()
    assert loop.consumer.commits == [{TP: 1}, {TP: 3}]


def test_dead_letters_are_bounded_and_name_the_original():
    handler = Recorder()
    loop = make_loop(handler)
    big = b"bad" + b"x" * 10_000
    handler.fail_on = big
    loop.deliver(records(big))
    (letter,) = [json.loads(v) for _, _, v in loop.producer.sent]
    assert letter["original_bytes"] == len(big) and letter["original_truncated"]
    assert len(letter["original"].encode()) <= 16
    import hashlib

    assert letter["original_sha256"] == hashlib.sha256(big).hexdigest()


def test_failures_are_classified():
    from elasticsearch import ApiError
    from elasticsearch import ConnectionError as ESConnectionError

    assert is_retriable(Retriable("x")) and is_retriable(KafkaConnectionError())
    assert not is_retriable(MessageSizeTooLargeError()), "a record too large never fits: permanent"
    assert not is_retriable(ValueError("bug"))

    class Meta:
        def __init__(self, status):
            self.status = status

    assert is_retriable(ApiError("busy", Meta(429), {})) and is_retriable(ApiError("down", Meta(503), {}))
    assert not is_retriable(ApiError("bad", Meta(400), {}))
    assert is_retriable(ESConnectionError("refused"))


class Fetching(Consumer):
    """Hands out the queued poll results, one per poll, then nothing; records pauses and closing."""

    def __init__(self, *polls: list[Record]):
        super().__init__()
        self.polls = [{TP: batch} for batch in polls]
        self.ever_paused = set()
        self.closed_with = None
        self.idle = 0
        self.idle_limit = 0

    def pause(self, *tps):
        super().pause(*tps)
        self.ever_paused |= set(tps)

    def poll(self, timeout_ms=0, max_records=None):
        self.idle = 0 if self.polls else self.idle + 1
        if self.idle_limit and self.idle > self.idle_limit:
            raise RuntimeError("still polling long after the last batch: the loop never stopped")
        return self.polls.pop(0) if self.polls else {}

    def topics(self):
        return {"t"}

    def partitions_for_topic(self, topic):
        return {0}

    def subscribe(self, topics, listener=None):
        self.subscribed = topics

    def end_offsets(self, tps, timeout_ms=None):
        return {tp: 10 for tp in tps}

    def position(self, tp, timeout_ms=None):
        return 4

    def close(self, autocommit=True, timeout_ms=None):
        self.closed_with = autocommit


def test_during_an_outage_partitions_stay_paused_and_fetched_records_are_sought_back():
    handler = Recorder(outages=2)
    loop = make_loop(handler)
    loop.consumer = Fetching(records(b"z", start=2))
    assert loop.deliver(records(b"a", b"b"))
    assert loop.consumer.ever_paused == {TP}, "fetching paused while the service was down"
    assert loop.consumer.seeks == [(TP, 2)], "a record fetched meanwhile is sought back, not lost"
    assert not loop.consumer.paused() and handler.handled == [b"a", b"b"]


def test_sigterm_drains_the_batch_commits_it_and_run_returns_0(monkeypatch):
    import os
    import signal

    from vigil.core import kafka

    class StopsMidBatch(Recorder):
        stopped = closed = False

        def handle(self, batch):
            os.kill(os.getpid(), signal.SIGTERM)  # as `docker stop` or systemd would, mid-batch
            super().handle(batch)

        def stop(self):
            self.stopped = True

        def close(self):
            self.closed = True

    class Producer(RecordingProducer):
        def close(self, timeout=None):
            self.closed = True

    fetching = Fetching(records(b"a", b"b"), records(b"never", start=2))
    fetching.idle_limit = 50
    producer = Producer()
    monkeypatch.setattr(kafka, "consumer", lambda *a, **k: fetching)
    monkeypatch.setattr(kafka, "producer", lambda *a, **k: producer)
    handler = StopsMidBatch()
    loop = ConsumerLoop(Settings(), handler, group="g", topic="t")
    def unhandled(*_):
        raise AssertionError("the loop left SIGTERM to its default (the process would die mid-batch)")

    previous = signal.signal(signal.SIGTERM, unhandled), signal.getsignal(signal.SIGINT)
    try:
        assert loop.run() == 0
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
    assert handler.stopped and handler.closed
    assert handler.handled == [b"a", b"b"], "the batch under way is finished, the next never fetched"
    assert fetching.commits == [{TP: 2}] and fetching.closed_with is False and producer.closed
    assert fetching.subscribed == ["t"]


def test_lag_is_reported_once_per_configured_interval(monkeypatch):
    clock = [0.0]
    reports = []
    monkeypatch.setattr(consumer_module.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(consumer_module, "report_lag", lambda client, group, topic: reports.append((group, topic)))
    loop = ConsumerLoop(Settings(kafka={"lag_interval_seconds": 10}), Recorder(), group="g", topic="t")
    loop.consumer = Fetching()
    reported_at = []
    for now in (1000, 1003, 1009.9, 1010, 1015, 1019.9, 1020):
        clock[0] = now
        before = len(reports)
        loop.report_lag()
        reported_at += [now] if len(reports) > before else []
    assert reported_at == [1000, 1010, 1020] and reports == [("g", "t")] * 3


def test_a_consumer_starved_while_records_wait_joins_its_group_again(monkeypatch):
    """Records waiting on a fetched partition and none arriving for stall_seconds: the consumer is
    rebuilt; lag that clears, a paused partition or a handled batch restarts the clock."""
    clock = [1000.0]
    monkeypatch.setattr(consumer_module.time, "monotonic", lambda: clock[0])

    class Forgetting(Recorder):
        def __init__(self):
            super().__init__()
            self.revoked_partitions = []

        def revoked(self, partitions):
            self.revoked_partitions.append(partitions)

    handler = Forgetting()
    loop = make_loop(handler)
    loop.settings = Settings(kafka={"stall_seconds": 60})
    stalled = loop.consumer = Fetching()
    built = []
    monkeypatch.setattr(loop, "new_consumer", lambda: built.append(Fetching()) or built[-1])
    loop.positions, loop.committed = {TP: 4}, {TP: 4}

    def check(at: float, lag: int | None) -> bool:
        """Whether this lag report rebuilt the consumer."""
        clock[0] = at
        before = len(built)
        loop.watch({TP: lag})
        return len(built) > before

    assert not check(1000, 3) and not check(1050, None) and not check(1059, 3)
    assert not check(1070, 0), "caught up meanwhile: not a stall"
    assert not check(1080, 3) and not check(1139, 3)
    stalled.pause(TP)
    assert not check(1200, 3), "partitions the handler paused are not fetched on purpose"
    stalled.resume(TP)
    assert not check(1210, 3)
    loop._starving_since = None  # as a handled batch does
    assert not check(1220, 3) and not check(1279, 3)
    assert check(1280, 3)
    assert stalled.closed_with is False and handler.revoked_partitions == [{TP}]
    assert loop.consumer is built[0] and built[0].subscribed == ["t"]
    assert loop.positions == {} and loop.committed == {}
    assert not check(1290, 3) and not check(1349, 3), "the fresh consumer gets its own stall_seconds"
    assert check(1350, 3) and len(built) == 2
