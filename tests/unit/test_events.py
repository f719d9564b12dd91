"""ad.new / ad.changed events: ids stable across re-publication, each event sent once per worker."""

from __future__ import annotations

from pipelines.events import EventPublisher, ad_event, event_id
from tests.helpers import RecordingProducer
from vigil.core.records import AdDocument, AdEvent


def doc(record_id: str = "r1", **fields) -> AdDocument:
    return AdDocument(
        ad_key="site:1", profile_id="site", url="http://x/1", canonical_url="http://x/1",
        record_id=record_id, text="call +31612345678", phones=["+31612345678"], **fields,
    )  # fmt: skip


def test_event_ids_depend_on_ad_record_and_type_only():
    assert event_id("site:1", "r1", "ad.new") == event_id("site:1", "r1", "ad.new")
    assert len({event_id("site:1", "r1", "ad.new"), event_id("site:1", "r2", "ad.new"),
                event_id("site:1", "r1", "ad.changed"), event_id("site:2", "r1", "ad.new")}) == 4  # fmt: skip


def test_an_event_carries_the_ad_and_its_entities():
    event = ad_event(doc(risk=40, escalate=True), "ad.new", baseline=True)
    assert event.event_id == event_id("site:1", "r1", "ad.new")
    assert event.entities == {"phone": ["+31612345678"]} and event.baseline and event.escalate
    assert AdEvent.from_bytes(event.to_bytes()) == event


def test_a_retried_batch_publishes_each_event_once_until_forgotten():
    producer = RecordingProducer()
    publisher = EventPublisher(producer, "events")
    events = [ad_event(doc("r1"), "ad.new"), ad_event(doc("r2"), "ad.changed")]
    assert publisher.publish(events) == 2
    assert publisher.publish(events) == 0, "a batch retried after an outage sends nothing twice"
    assert [key for _, key, _ in producer.sent] == [b"site:1", b"site:1"]
    publisher.forget()
    assert publisher.publish(events[:1]) == 1
