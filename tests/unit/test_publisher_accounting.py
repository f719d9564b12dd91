"""The crawl publisher's bookkeeping, with a stand-in for kafka-python's producer (the real one is
exercised end to end by tests/integration/test_crawl.py): pages go to the producer in runs and in
order, each record is counted once as delivered or failed, the first failure closes the crawl, and
nothing that was sent goes uncounted when the spider closes."""

from __future__ import annotations

from kafka.errors import MessageSizeTooLargeError
from kafka.future import Future
from scrapy.settings import Settings as ScrapySettings

from crawlers.publishing import HANDOVER_RECORDS, KafkaPublisher
from vigil.core.config import Settings
from vigil.core.records import RawPage


class Producer:
    def __init__(self):
        self.sent: list[tuple[bytes, Future]] = []

    def send(self, topic, key, value):
        future = Future()
        self.sent.append((key, future))
        return future

    def flush(self, timeout=None):
        pass

    def close(self, timeout=None):
        pass


class Stats:
    def __init__(self):
        self.values: dict = {}

    def set_value(self, key, value):
        self.values[key] = value

    def inc_value(self, key, count=1):
        self.values[key] = self.values.get(key, 0) + count


class Crawler:
    def __init__(self):
        self.settings = ScrapySettings({"VIGIL_SETTINGS": Settings(), "VIGIL_FLUSH_TIMEOUT": 1})
        self.stats = Stats()
        self.spider = None


def page(n: int) -> RawPage:
    url = f"http://127.0.0.1/ad/{n}"
    return RawPage(
        profile_id="p", job_id="j", url=url, canonical_url=url, final_url=url, status=200, page_type="ad",
        body=f"ad {n}", body_sha256="0" * 64,
    )  # fmt: skip


def publisher() -> tuple[KafkaPublisher, Producer, list[str]]:
    crawler = Crawler()
    published = KafkaPublisher(crawler)
    published.producer = producer = Producer()
    closed: list[str] = []
    published._close_crawl = lambda: closed.append("publish_failed")
    return published, producer, closed


def three_handed_over() -> tuple[KafkaPublisher, list[str], list[Future]]:
    """A publisher that has handed three pages to the producer; their futures, oldest first."""
    published, producer, closed = publisher()
    for n in range(3):
        published.process_item(page(n))
    published.hand_over()
    return published, closed, [future for _, future in producer.sent]


def test_pages_go_to_the_producer_in_runs_and_in_order():
    published, producer, _ = publisher()
    for n in range(HANDOVER_RECORDS - 1):
        published.process_item(page(n))
    assert producer.sent == [], "held until a run is complete (or the ticker hands them over)"
    published.process_item(page(HANDOVER_RECORDS - 1))
    assert [key for key, _ in producer.sent] == [f"http://127.0.0.1/ad/{n}".encode() for n in range(HANDOVER_RECORDS)]
    published.process_item(page(1000))
    published.hand_over()  # the ticker's call
    assert producer.sent[-1][0] == b"http://127.0.0.1/ad/1000" and published.sent == HANDOVER_RECORDS + 1


def test_deliveries_are_counted_once_oldest_first():
    published, closed, (first, second, third) = three_handed_over()
    third.success(None)
    published.hand_over()
    assert published.delivered == 0, "the oldest is not done yet"
    first.success(None)
    second.success(None)
    published.hand_over()
    published.hand_over()
    assert published.delivered == 3 and not published.failures and not closed


def test_the_first_failure_closes_the_crawl_once_and_is_reported():
    published, closed, (first, second, third) = three_handed_over()
    first.success(None)
    second.failure(MessageSizeTooLargeError("too large"))
    third.failure(MessageSizeTooLargeError("too large"))
    published.hand_over()
    assert closed == ["publish_failed"]
    assert published.delivered == 1 and published.failures == {"MessageSizeTooLargeError": 2}
    assert published.first_failure.startswith("record for http://127.0.0.1/ad/1 was not delivered")


def test_closing_hands_over_what_is_held_and_counts_what_never_came_back():
    published, producer, closed = publisher()
    for n in range(5):
        published.process_item(page(n))
    producer.flush = lambda timeout=None: [future.success(None) for _, future in producer.sent[:3]]
    published.close_spider()
    assert len(producer.sent) == 5 and published.delivered == 3
    assert published.failures == {"Undelivered": 2} and not closed
    stats = published.crawler.stats.values
    assert stats["vigil/published"] == 3 and stats["vigil/publish_failed/Undelivered"] == 2
    assert "2 records to" in stats["vigil/publish_error"]


def test_a_page_that_cannot_be_serialised_is_a_counted_failure_and_the_run_goes_on():
    published, producer, closed = publisher()
    broken = page(1)
    broken.fields = {"title": object()}  # not JSON: pydantic-core refuses to serialise it
    for item in (page(0), broken, page(2)):
        published.process_item(item)
    published.hand_over()
    assert [key for key, _ in producer.sent] == [b"http://127.0.0.1/ad/0", b"http://127.0.0.1/ad/2"]
    assert sum(published.failures.values()) == 1 and closed == ["publish_failed"]
