"""A record a worker cannot parse is dead-lettered with its cause (docs/records.md), by the crawl
and alerts handlers too, and the valid records of the batch are not held back by it. The loop
that sends the letters, with the consumer's name, is tested in test_consumer_loop.py."""

from __future__ import annotations

from collections import namedtuple

from crawlers.worker import CrawlHandler
from scheduler.alerts_worker import AlertsHandler
from scheduler.rules import AlertsConfig
from vigil.core.config import Settings
from vigil.core.consumer import Batch
from vigil.core.records import AdEvent, CrawlJob

Record = namedtuple("Record", "topic partition offset key value")
UNPARSEABLE = [b"not json", b'{"hello": "world"}', b""]


def batch_of(values: list[bytes]) -> Batch:
    return Batch([Record("t", 0, offset, b"k", value) for offset, value in enumerate(values)])


def test_the_crawl_handler_dead_letters_what_is_no_crawl_job_and_queues_the_rest():
    from kafka import TopicPartition

    class Reports:
        states: list[str] = []

        def report(self, status):
            self.states.append(status.state)

    handler = CrawlHandler(Settings(), slots=1)
    handler.status = Reports()
    job = CrawlJob(profile_id="board", reason="test")
    batch = batch_of([*UNPARSEABLE, job.to_bytes()])
    handler.handle(batch)
    assert [(record.offset, cause) for record, cause, _ in batch.dead] == [(0, "schema"), (1, "schema"), (2, "schema")]
    assert [pending.job.job_id for pending in handler.queues["board"]] == [job.job_id]
    assert handler.status.states == ["queued"]
    assert handler.held() == {TopicPartition("t", 0): 3}, "commits may pass the dead letters, not the queued job"


def test_the_alerts_handler_dead_letters_what_is_no_event_and_handles_the_rest():
    handler = AlertsHandler(Settings(), AlertsConfig())
    handled = []
    handler.handle_event = handled.append
    event = AdEvent(event_type="ad.new", ad_key="site:1", profile_id="site", url="http://site.test/ad/1")
    batch = batch_of([*UNPARSEABLE, event.to_bytes()])
    handler.handle(batch)
    assert [(record.offset, cause) for record, cause, _ in batch.dead] == [(0, "schema"), (1, "schema"), (2, "schema")]
    assert [e.event_id for e in handled] == [event.event_id]
