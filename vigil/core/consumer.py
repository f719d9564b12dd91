"""The one Kafka consumer loop every worker runs (enrich, crawl, alerts; anything added later).

At-least-once: poll a batch, hand it to the worker's handler, and commit a partition's offset only
once every record before it has been handled (or dead-lettered) and the handler holds none of them
any more. Failures are classified:

* **retriable** (a broker or Elasticsearch unavailable, a timeout, 429/5xx, ``Retriable``): the
  partitions are paused, the loop backs off and hands the same batch over again; nothing is
  committed meanwhile, and the consumer keeps polling so the group does not evict it;
* **permanent** (anything else: a bug or a record no retry can fix): the batch is handed over again
  one record at a time, and the record that still fails is dead-lettered with its cause, so a
  poison record never holds back the records behind it.

SIGTERM/SIGINT drain: the current batch ends (or is left uncommitted while a service is down), the
handler closes, and ``run`` returns 0. Joining the group waits for the topic's partitions first:
kafka-python's assignor hands out nothing to a member that joins before it has the topic's metadata.

A stall is not waited out: a consumer whose partitions have records waiting, and that receives none
for ``kafka.stall_seconds``, closes and joins its group again (see ``watch``).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from vigil.core.config import Settings
from vigil.core.dead_letters import DeadLetterSink
from vigil.core.kafka import report_lag
from vigil.core.metrics import CONSUMER_FAILURES

log = structlog.get_logger("vigil.consumer")

BACKOFF_START = 0.5
BACKOFF_MAX = 15.0
# 401/403: credentials or roles are wrong. Waiting (for an operator) loses nothing; dead-lettering
# every record of the stream because of a configuration error would.
RETRIABLE_HTTP = frozenset({401, 403, 408, 429, 502, 503, 504})


class Retriable(Exception):
    """A service the batch needs cannot take it now: pause, back off, hand the batch over again.

    ``service`` names it in the loop's log line ("Elasticsearch unreachable at URL")."""

    service = ""


def is_retriable(exc: BaseException) -> bool:
    """Whether waiting can fix ``exc``: an unavailable broker or cluster, a timeout, 429 and 5xx."""
    if isinstance(exc, Retriable | TimeoutError | ConnectionError):
        return True
    from kafka.errors import KafkaError

    if isinstance(exc, KafkaError):
        return bool(getattr(exc, "retriable", False))
    from elasticsearch import ApiError, TransportError

    if isinstance(exc, TransportError):  # connection refused, reset, timed out: no answer at all
        return True
    if isinstance(exc, ApiError):
        return exc.meta.status in RETRIABLE_HTTP
    return False


def describe(exc: BaseException, limit: int = 2000) -> str:
    return f"{type(exc).__name__}: {exc}"[:limit]


@dataclass
class Batch:
    """The records handed to a handler, and the ones it gave up on (dead-lettered by the loop)."""

    records: list[Any]
    dead: list[tuple[Any, str, str]] = field(default_factory=list)

    def dead_letter(self, record: Any, cause: str, error: str) -> None:
        self.dead.append((record, cause, error))


class Handler:
    """What a worker plugs into the loop. Only ``handle`` is required; the rest are hooks."""

    name = "worker"

    def start(self, loop: ConsumerLoop) -> None:
        """Open clients; called once the loop has its consumer and producer."""

    def handle(self, batch: Batch) -> None:
        """Handle every record of the batch; raise to fail it (see the module docstring)."""
        raise NotImplementedError

    def stop(self) -> None:
        """A stop was requested (from a signal handler): interrupt long work, quickly."""

    def tick(self) -> None:
        """Called after every poll, with or without records (for work that runs on its own)."""

    def held(self) -> dict[Any, int]:
        """Per partition, the lowest offset still being worked on: commits stop before it."""
        return {}

    def backlogged(self) -> bool:
        """True pauses fetching until the handler has caught up."""
        return False

    def revoked(self, partitions: set[Any]) -> None:
        """Partitions that moved to another member: drop their queued work (it is re-delivered)."""

    def close(self) -> None:
        """Finish what can finish; called once when the loop stops."""


class ConsumerLoop:
    def __init__(
        self,
        settings: Settings,
        handler: Handler,
        *,
        group: str,
        topic: str,
        batch_size: int = 100,
        max_poll_interval_ms: int = 300_000,
        poll_ms: int = 500,
    ):
        self.settings = settings
        self.handler = handler
        self.group = group
        self.topic = topic
        self.batch_size = batch_size
        self.max_poll_interval_ms = max_poll_interval_ms
        self.poll_ms = poll_ms
        self.stopping = threading.Event()
        self.positions: dict[Any, int] = {}
        self.committed: dict[Any, int] = {}
        self._lag_at = 0.0
        self._starving_since: float | None = None

    def stop(self, *_: Any) -> None:
        if not self.stopping.is_set():
            log.info("stop requested: finishing the current batch", consumer=self.handler.name)
        self.stopping.set()
        self.handler.stop()

    def run(self) -> int:
        """Consume until SIGTERM/SIGINT; returns the process exit code."""
        from vigil.core import kafka

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self.stop)
            signal.signal(signal.SIGINT, self.stop)
        cfg = self.settings.kafka
        self.consumer = self.new_consumer()
        self.producer = kafka.producer(cfg)
        self.dead_letters = DeadLetterSink(
            self.producer, cfg.topics.pages_dlq, self.handler.name, self.group, cfg.dead_letter_excerpt_bytes
        )
        try:
            self.handler.start(self)
            if not subscribe_when_ready(self.consumer, self.topic, self.stopping, self._listener()):
                return 0
            log.info("consumer started", consumer=self.handler.name, topic=self.topic, group=self.group)
            while not self.stopping.is_set():
                if self.handler.backlogged():
                    self.consumer.pause(*self.consumer.assignment())
                    self._starving_since = None
                else:
                    self.consumer.resume(*self.consumer.paused())
                polled = self.consumer.poll(timeout_ms=self.poll_ms, max_records=self.batch_size)
                records = [record for batch in polled.values() for record in batch]
                if records and not self.deliver(records):
                    log.warning("stopped with an unfinished batch; it will be re-delivered", records=len(records))
                    break
                if records:
                    self._starving_since = None
                self.handler.tick()
                self.commit()
                self.report_lag()
            return 0
        finally:
            self.handler.close()
            self.commit()
            self.consumer.close(autocommit=False)
            self.producer.close(timeout=10)
            log.info("consumer stopped", consumer=self.handler.name)

    def new_consumer(self):
        from vigil.core import kafka

        return kafka.consumer(
            self.settings.kafka,
            self.group,
            max_poll_records=self.batch_size,
            max_poll_interval_ms=self.max_poll_interval_ms,
        )

    def deliver(self, records: list[Any]) -> bool:
        """Handle one polled batch to the end (handled or dead-lettered); False if stopped first."""
        batch = Batch(records)
        failure = self.attempt(lambda: self.handler.handle(batch))
        if failure is Stopped:
            return False
        if failure is not None:
            log.warning(
                "batch failed; handing its records over one by one", records=len(records), error=describe(failure)
            )
            batch = Batch(records)
            for record in records:
                single = Batch([record])
                failure = self.attempt(lambda single=single: self.handler.handle(single))
                if failure is Stopped:
                    return False
                batch.dead += single.dead
                if failure is not None:
                    CONSUMER_FAILURES.labels(consumer=self.handler.name, kind="permanent").inc()
                    log.error(
                        "record failed for good",
                        consumer=self.handler.name,
                        partition=record.partition,
                        offset=record.offset,
                        error=describe(failure, 500),
                    )
                    batch.dead_letter(record, "handler", describe(failure))
        for record, cause, error in batch.dead:
            self.dead_letters.add(record, cause, error)
        if self.attempt(self.dead_letters.flush, retry_any=True) is Stopped:
            return False
        for record in records:
            tp = _partition(record)
            self.positions[tp] = max(self.positions.get(tp, 0), record.offset + 1)
        return True

    def attempt(self, step: Callable[[], Any], retry_any: bool = False) -> BaseException | type[Stopped] | None:
        """Run ``step``, retrying with backoff while it fails retriably; None when it succeeded, the
        permanent error otherwise, or ``Stopped`` when a stop came during the backoff."""
        delay = BACKOFF_START
        outage_since: float | None = None
        while True:
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - classified right here
                if not (retry_any or is_retriable(exc)):
                    return exc
                outage_since = outage_since or time.monotonic()
                CONSUMER_FAILURES.labels(consumer=self.handler.name, kind="retriable").inc()
                log.error(
                    f"{self.unavailable(exc)}; retrying in {delay:g}s, nothing committed",
                    consumer=self.handler.name,
                    error=describe(exc, 500),
                )
                if self.wait(delay):
                    return Stopped
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            if outage_since is not None:
                log.info("delivery resumed", after_seconds=round(time.monotonic() - outage_since, 1))
                self.consumer.resume(*self.consumer.paused())
            return None

    def unavailable(self, exc: BaseException) -> str:
        """Which service a retriable failure is about, and where it is configured to be."""
        from elasticsearch import ApiError, TransportError
        from kafka.errors import KafkaError

        service = getattr(exc, "service", "")
        if service == "Elasticsearch" or isinstance(exc, ApiError | TransportError):
            return f"Elasticsearch unreachable at {self.settings.es.url}"
        if service == "Kafka" or isinstance(exc, KafkaError):
            return f"Kafka unreachable at {self.settings.kafka.bootstrap}"
        return f"{service or 'a service'} unavailable"

    def wait(self, seconds: float) -> bool:
        """Back off while polling paused partitions (the group keeps us); True if stopped meanwhile."""
        deadline = time.monotonic() + seconds
        while not self.stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.consumer.pause(*self.consumer.assignment())
            for tp, batch in self.consumer.poll(timeout_ms=int(min(remaining, 0.5) * 1000)).items():
                self.consumer.seek(tp, batch[0].offset)
        return True

    def commit(self) -> None:
        """Commit each owned partition up to its first record not finished yet."""
        from kafka.errors import KafkaError
        from kafka.structs import OffsetAndMetadata

        owned = self.consumer.assignment()
        held = self.handler.held()
        wanted = {}
        for tp, position in self.positions.items():
            offset = min(position, held[tp]) if tp in held else position
            if tp in owned and self.committed.get(tp) != offset:
                wanted[tp] = offset
        if not wanted:
            return
        try:
            self.consumer.commit({tp: OffsetAndMetadata(o, "", -1) for tp, o in wanted.items()}, timeout_ms=30000)
            self.committed.update(wanted)
            log.info("offsets committed", consumer=self.handler.name, offsets={tp.partition: o for tp, o in wanted.items()})
        except KafkaError as exc:
            CONSUMER_FAILURES.labels(consumer=self.handler.name, kind="commit").inc()
            log.warning("commit refused (a rebalance?); the next owner re-delivers", error=describe(exc, 300))

    def report_lag(self) -> None:
        """At the configured interval: asking for the end offsets costs a round trip."""
        if time.monotonic() - self._lag_at < self.settings.kafka.lag_interval_seconds:
            return
        self._lag_at = time.monotonic()
        lags = report_lag(self.consumer, self.group, self.topic)
        if lags is None:  # the broker cannot be asked: an outage, not a stalled consumer
            self._starving_since = None
        else:
            self.watch(lags)

    def watch(self, lags: dict[Any, int | None]) -> None:
        """Join the group again when records wait on partitions we fetch and none has arrived for
        ``stall_seconds``. kafka-python 3.0 was seen (twice, in CI) to hold its partitions and
        receive nothing for minutes while the broker had already dropped the member, without a
        warning; a fresh consumer ends that. Queued work is dropped (it is re-delivered)."""
        paused = self.consumer.paused()
        waiting = sorted(tp.partition for tp, lag in lags.items() if tp not in paused and (lag is None or lag > 0))
        now = time.monotonic()
        if not waiting or self._starving_since is None:
            self._starving_since = now if waiting else None
            return
        starving = now - self._starving_since
        if starving < self.settings.kafka.stall_seconds:
            return
        CONSUMER_FAILURES.labels(consumer=self.handler.name, kind="stall").inc()
        log.error(
            "consumer stalled: records wait on its partitions and none arrived; joining the group again",
            consumer=self.handler.name,
            group=self.group,
            partitions=waiting,
            seconds=round(starving),
        )
        self.handler.revoked(set(self.consumer.assignment()))
        self.positions.clear()
        self.committed.clear()
        self.consumer.close(autocommit=False, timeout_ms=5000)
        self.consumer = self.new_consumer()
        self._starving_since = None
        subscribe_when_ready(self.consumer, self.topic, self.stopping, self._listener())

    def _listener(self):
        """Partitions revoked and assigned back in the same rebalance stay ours: their handled
        positions and queued work are kept; only the partitions that went elsewhere are dropped."""
        from kafka import ConsumerRebalanceListener

        loop = self
        revoked_now: set[Any] = set()

        class Rebalance(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked):
                revoked_now.update(revoked)

            def on_partitions_assigned(self, assigned):
                lost = revoked_now - set(assigned)
                revoked_now.clear()
                for tp in lost:
                    loop.positions.pop(tp, None)
                    loop.committed.pop(tp, None)
                if lost:
                    loop.handler.revoked(lost)
                loop._starving_since = None
                log.info(
                    "partitions assigned",
                    consumer=loop.handler.name,
                    partitions=sorted(tp.partition for tp in assigned),
                    lost=sorted(tp.partition for tp in lost),
                )

        return Rebalance()


class Stopped:
    """Marker: a stop arrived while the loop was waiting for a service."""


def _partition(record: Any):
    from kafka import TopicPartition

    return TopicPartition(record.topic, record.partition)


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
            log.warning("topic has no partitions yet (run `vigil init`?); waiting", topic=topic, retry_in=delay)
        except KafkaError as exc:
            log.error("Kafka unreachable; waiting", error=describe(exc, 500), retry_in=delay)
        stop.wait(delay)
        delay = min(delay * 2, 30.0)
    return False
