"""Item pipeline that publishes RawPage records to Kafka (key: canonical URL).

Pages are handed to kafka-python's producer (vigil.core.kafka.producer: acks=all, retries,
compressed batches) in short runs; it delivers in its own thread, and the reactor counts each
record's delivery as confirmed or as a failure by cause.
A failed delivery closes the crawl with reason ``publish_failed``: the producer has already retried,
so going on would fetch pages nobody receives. A record that cannot be made to fit the broker's
limit is a property of that one page, not of the broker: it is skipped and counted
(``record_too_large``), and the crawl goes on. Everything is flushed when the spider closes.
``VIGIL_PUBLISH_ENABLED = False`` turns the component off (benchmarks, profile dry runs).
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque

from scrapy import signals
from scrapy.exceptions import NotConfigured

from crawlers.config import vigil_settings
from vigil.core import metrics
from vigil.core.records import RawPage

logger = logging.getLogger(__name__)

# Room for the record's other fields and Kafka's per-record overhead.
RECORD_HEADROOM = 64 * 1024
# Pages arrive one by one; waiting this long fills a batch per partition with hundreds of them
# instead of a few. Each batch and request costs the producer's I/O thread a loop that takes the GIL
# from the reactor, and the broker an append; per page that was more than the page's own send.
# A batch that fills (large pages) goes at once; spider close flushes (docs/performance.md).
LINGER_MS = 1000
BATCH_BYTES = 1024 * 1024
# Pages are serialised and handed to kafka-python in runs of up to this many (or this many body
# characters, or whatever a quarter of a second brought), not one between every two parses: the
# per-record Python of pydantic's serialiser and of send() then runs warm in the CPU's caches, at
# about half its cost when interleaved with the crawl's own work (docs/performance.md).
HANDOVER_RECORDS = 64
HANDOVER_CHARS = 1024 * 1024
HANDOVER_SECONDS = 0.25


class BrokerUnavailable(RuntimeError):
    """Kafka could not be reached (or the topic is missing) when the crawl started."""


class RecordTooLarge(ValueError):
    """Even with its body and fields shortened, the record does not fit the broker's limit."""


def _shorter(value: str, size: int, limit: int) -> str:
    """``value`` shortened in proportion to how far the record (``size`` bytes) is over ``limit``,
    and by at least 1,024 characters, so that repeated calls converge."""
    keep = min(len(value) - 1024, int(len(value) * limit / size) - 1024)
    return value[: max(0, keep)]


def fit(page: RawPage, limit: int) -> bytes:
    """The record as JSON no larger than ``limit`` bytes: the longest of the body and the fields
    is shortened until it fits (and ``truncated`` set). Raises RecordTooLarge when even without
    them the record is too large."""
    value = page.to_bytes()
    if len(value) > limit:
        metrics.LIMITS_HIT.labels("record_bytes").inc()
    while len(value) > limit:
        longest = max(page.fields, key=lambda key: len(page.fields[key]), default=None)
        if longest is not None and len(page.fields[longest]) > len(page.body):
            page.fields = {**page.fields, longest: _shorter(page.fields[longest], len(value), limit)}
        elif page.body:
            page.body = _shorter(page.body, len(value), limit)
        else:
            raise RecordTooLarge(f"{len(value)} bytes without body and fields; the limit is {limit}")
        page.truncated = True
        value = page.to_bytes()
    return value


def quiet_client(level: str | int) -> None:
    """kafka-python's loggers at the crawl's log level. Scrapy sets the root logger to NOTSET and
    filters in its handler, so every ``log.debug`` of the client (one per ``send()``, several per
    I/O loop) would build a LogRecord, walking the stack, only for the handler to drop it."""
    logging.getLogger("kafka").setLevel(level)


class KafkaPublisher:
    def __init__(self, crawler):
        if not crawler.settings.getbool("VIGIL_PUBLISH_ENABLED", True):
            raise NotConfigured("publishing disabled (VIGIL_PUBLISH_ENABLED)")
        self.crawler = crawler
        self.settings = vigil_settings(crawler.settings)
        self.topic = self.settings.kafka.topics.pages_raw
        self.limit = self.settings.kafka.max_message_bytes - RECORD_HEADROOM
        self.flush_timeout = crawler.settings.getfloat("VIGIL_FLUSH_TIMEOUT", 60)
        self.producer = None
        self.ticker = None
        # Pages waiting to be handed to the producer (see HANDOVER_RECORDS).
        self.held: list[RawPage] = []
        self.held_chars = 0
        self.published = metrics.RECORDS_PUBLISHED.labels(self.topic)
        # Futures of the records sent and not yet counted, oldest first, and their URLs (two deques:
        # no per-record tuple or callback for the garbage collector to track).
        self.pending: deque = deque()
        self.pending_urls: deque[str] = deque()
        self.sent = 0
        self.delivered = 0
        self.failures: Counter[str] = Counter()
        self.first_failure: str | None = None
        self._closing_requested = False

    @classmethod
    def from_crawler(cls, crawler) -> KafkaPublisher:
        publisher = cls(crawler)
        crawler.signals.connect(publisher.sync_stats, signal=signals.spider_closed)
        return publisher

    def open_spider(self) -> None:
        from kafka.errors import KafkaError

        from vigil.core.kafka import producer

        kafka = self.settings.kafka
        quiet_client(self.crawler.settings.get("LOG_LEVEL", "INFO"))
        try:
            self.producer = producer(
                kafka, max_block_ms=15000, bootstrap_timeout_ms=5000, linger_ms=LINGER_MS, batch_size=BATCH_BYTES
            )
            partitions = self.producer.partitions_for(self.topic)
        except KafkaError as exc:
            if self.producer is not None:
                self.producer.close(timeout=1)
            self.crawler.stats.set_value("vigil/broker_unreachable", f"{type(exc).__name__}: {exc}")
            raise BrokerUnavailable(
                f"Kafka at {kafka.bootstrap} is unreachable or topic {self.topic} is missing "
                f"({type(exc).__name__}: {exc}); run `vigil stack up` and `vigil init`"
            ) from None
        if not partitions:
            self.crawler.stats.set_value("vigil/broker_unreachable", f"topic {self.topic} has no partitions")
            raise BrokerUnavailable(f"topic {self.topic} has no partitions on {kafka.bootstrap}; run `vigil init`")
        logger.info("publishing to %s on %s", self.topic, kafka.bootstrap)
        from twisted.internet import task

        self.ticker = task.LoopingCall(self.hand_over)
        self.ticker.start(HANDOVER_SECONDS, now=False)

    def process_item(self, item):
        if not isinstance(item, RawPage):
            return item
        self.held.append(item)
        self.held_chars += len(item.body)
        if len(self.held) >= HANDOVER_RECORDS or self.held_chars >= HANDOVER_CHARS:
            self.hand_over()
        return item

    def hand_over(self) -> None:
        """Serialise the held pages and give them to the producer one after another, then count the
        deliveries confirmed since the last time. Runs in the reactor, from process_item or the ticker."""
        held, self.held, self.held_chars = self.held, [], 0
        for page in held:
            self._send(page)
        self._count_deliveries()

    def _send(self, page: RawPage) -> None:
        url = page.canonical_url
        try:
            value = fit(page, self.limit)
        except RecordTooLarge as exc:
            self._skipped(url, exc)
            return
        except Exception as exc:  # noqa: BLE001 - a page that cannot be serialised is not sent: a named failure
            self._failed(url, exc)
            return
        try:
            future = self.producer.send(self.topic, key=url.encode("utf-8"), value=value)
        except Exception as exc:  # noqa: BLE001 - kafka-python raises many types; each is a named failure
            self._failed(url, exc)
            return
        self.sent += 1
        self.pending.append(future)
        self.pending_urls.append(url)

    def _count_deliveries(self, final: bool = False) -> None:
        """Count the records whose batch the broker has acknowledged or failed, oldest first, in the
        reactor (the producer's I/O thread then runs no callback per record); a failure closes the
        crawl at the next hand-over, within HANDOVER_SECONDS. ``final`` (after the flush) counts every
        record, done or not, and closes nothing: the crawl is closing already."""
        pending, urls = self.pending, self.pending_urls
        delivered = 0
        while pending and (final or pending[0].is_done):
            future = pending.popleft()
            url = urls.popleft()
            if not future.is_done:
                continue
            if future.exception is None:
                delivered += 1
            else:
                self._failed(url, future.exception, close=not final)
        if delivered:
            self.delivered += delivered
            self.published.inc(delivered)

    def _skipped(self, url: str, exc: RecordTooLarge) -> None:
        """One page that cannot fit: counted as the crawl error ``record_too_large``; the crawl goes on."""
        metrics.PUBLISH_ERRORS.labels("record_too_large").inc()
        count = getattr(self.crawler.spider, "count", None)
        if count is not None:
            count("record_too_large", f"record for {url} skipped: {exc}")
        else:
            self.crawler.stats.inc_value("vigil/errors/record_too_large")
            logger.error("record for %s skipped: %s", url, exc)

    def _failed(self, url: str, exc: BaseException, close: bool = True) -> None:
        cause = type(exc).__name__
        self.failures[cause] += 1
        first = self.first_failure is None
        if first:
            self.first_failure = f"record for {url} was not delivered to {self.topic}: {cause}: {exc}"
        metrics.PUBLISH_ERRORS.labels(cause).inc()
        logger.error("delivery failed for %s: %s: %s", url, cause, exc)
        if first and close:
            self._close_crawl()

    def _close_crawl(self) -> None:
        from twisted.internet import reactor

        def close() -> None:
            engine = self.crawler.engine
            if engine is not None and engine.spider is not None and not self._closing_requested:
                self._closing_requested = True
                from scrapy.utils.defer import deferred_from_coro

                deferred_from_coro(engine.close_spider_async(reason="publish_failed"))

        reactor.callFromThread(close)

    def close_spider(self) -> None:
        if self.producer is None:
            return
        if self.ticker is not None and self.ticker.running:
            self.ticker.stop()
        try:
            self.hand_over()
            self._flush()
        finally:
            self.producer.close(timeout=5)
        self._count_deliveries(final=True)
        undelivered = self.sent - self.delivered - sum(self.failures.values())
        if undelivered > 0:
            self.failures["Undelivered"] += undelivered
            self.first_failure = self.first_failure or (
                f"{undelivered} records to {self.topic} were not confirmed within {self.flush_timeout}s"
            )
        self.sync_stats()

    def _flush(self) -> None:
        """Flush, riding out kafka-python's transient flush errors (it re-queues split batches)."""
        from kafka.errors import KafkaError, KafkaTimeoutError

        deadline = time.monotonic() + self.flush_timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                self.producer.flush(timeout=max(remaining, 0.1))
                return
            except KafkaTimeoutError as exc:
                logger.error("flush of %s timed out: %s", self.topic, exc)
                return
            except KafkaError as exc:
                if time.monotonic() >= deadline:
                    logger.error("flush of %s failed: %s: %s", self.topic, type(exc).__name__, exc)
                    return
                time.sleep(0.1)

    def sync_stats(self) -> None:
        stats = self.crawler.stats
        stats.set_value("vigil/published", self.delivered)
        for cause, count in self.failures.items():
            stats.set_value(f"vigil/publish_failed/{cause}", count)
        if self.first_failure:
            stats.set_value("vigil/publish_error", self.first_failure)
