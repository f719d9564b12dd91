"""Ad versions on the real stack: a board ad crawled, edited by its poster, crawled again.

Crawl (``vigil crawl``), enrich worker and alerts worker run as processes on the shared stack;
the alert reaches a loopback webhook. A second test publishes raw pages whose captures carry
screenshots in a real directory store, and checks that the ad's escalation deletes them all and
records each deletion.
"""

from __future__ import annotations

import json
import time

import pytest
import yaml

from tests.fixture_site import FixtureSite
from tests.helpers import FIRST_OUTPUT, wait_for
from tests.integration.test_monitoring import Process, board_profile, configure, key
from vigil.core.records import AdEvent, AdVersion, Capture, RawPage

pytestmark = pytest.mark.integration

OLD_PHONE, NEW_PHONE = "07520 651234", "07520 659876"
OLD_E164, NEW_E164 = "+447520651234", "+447520659876"
BODY = "Sweet and discreet, incall near the station. Call {phone} after six, no withheld numbers."


def versions(settings, ad_key: str) -> list[AdVersion]:
    from vigil.core.elastic import client

    es = client(settings.es)
    es.indices.refresh(index=settings.es.indices.ad_versions)
    found = es.search(index=settings.es.indices.ad_versions, query={"term": {"ad_key": ad_key}},
                      sort=[{"version": "asc"}], size=50)  # fmt: skip
    return [AdVersion.model_validate(hit["_source"]) for hit in found["hits"]["hits"]]


def events(settings, ad_key: str) -> list[AdEvent]:
    from vigil.core.kafka import consumer

    reader = consumer(settings.kafka, None, settings.kafka.topics.ad_events, consumer_timeout_ms=3000)
    try:
        found = [AdEvent.from_bytes(r.value) for r in reader if b'"ad.' in r.value[:200]]
    finally:
        reader.close()
    return [e for e in found if e.ad_key == ad_key]


@pytest.mark.timeout(480)
def test_an_edited_ad_gets_a_second_version_an_event_and_an_alert_with_the_diff(
    vigil_env, tmp_path, processes, webhook
):
    rules = {
        "rules": [{"id": "watchlist", "when": {"entities": {"phone": [NEW_E164]}}}],
        "subscribers": [{"id": "ops", "urls": [webhook.url], "rules": ["watchlist"], "content": "full"}],
    }
    configure(vigil_env, tmp_path, rules)
    settings = vigil_env.settings
    uid = vigil_env.uid
    with FixtureSite(real_ads=False) as site:
        profile = board_profile(site)
        profile["ads"]["fields"].update(price={"css": ".price"}, location={"css": ".location"})
        (tmp_path / "profiles" / "board.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
        ad = site.add_ad(title="Mia, new in town", body=BODY.format(phone=OLD_PHONE), price="£150 / hour",
                         location="Leeds")  # fmt: skip
        ad_key = f"board:{ad['id']}"
        processes.append(Process(vigil_env, "enrich", "worker", "enrich", "--group", f"test-{uid}-enrich"))
        processes.append(Process(vigil_env, "alerts", "worker", "alerts"))

        def tails() -> str:
            return "\n".join(p.tail() for p in processes)

        first = vigil_env.run("crawl", "board", "--json", timeout=120)
        assert first.returncode == 0, first.stderr
        assert wait_for(lambda: len(versions(settings, ad_key)) == 1, timeout=FIRST_OUTPUT), tails()

        site.edit_ad(ad["id"], body=BODY.format(phone=NEW_PHONE), price="£200 / hour")
        started = time.monotonic()
        second = vigil_env.run("crawl", "board", "--json", timeout=120)
        assert second.returncode == 0, second.stderr
        assert wait_for(lambda: len(versions(settings, ad_key)) == 2, timeout=90), tails()
        assert wait_for(lambda: webhook.about(key(ad)), timeout=60), tails()
        print(f"second crawl to alert with the diff: {time.monotonic() - started:.1f}s")

        one, two = versions(settings, ad_key)
        assert (one.version, two.version) == (1, 2) and two.previous_hash == one.content_hash
        assert one.phones == [OLD_E164] and two.phones == [NEW_E164]
        assert one.first_seen <= one.last_seen < two.first_seen
        described = [c.describe() for c in two.changes]
        assert f"phones: {OLD_E164} -> {NEW_E164}" in described, described
        assert any(c.field == "price" and c.after and "200" in c.after for c in two.changes), described
        assert two.text_diff == "- 651234\n+ 659876"
        other = versions(settings, "board:102")
        assert len(other) == 1 and other[0].seen_count == 2, "an unchanged ad stays one version, seen twice"
        if settings.evidence.capture:  # each version names the WARC record its fetch was kept in
            assert len(one.captures) == len(two.captures) == 1 and len(other[0].captures) == 2
            assert one.captures[0].warc_file.endswith(".warc.gz") and len(two.captures[0].payload_sha256) == 64
            assert one.captures[0].record_id != two.captures[0].record_id
            from vigil.core.elastic import client

            stored = client(settings.es).get(index=settings.es.indices.ads, id=ad_key)["_source"]
            assert stored["version"] == 2 and stored["capture"]["record_id"] == two.captures[0].record_id

        changed = [e for e in events(settings, ad_key) if e.event_type == "ad.changed"]
        assert len(changed) == 1 and changed[0].version == 2, changed
        assert [c.describe() for c in changed[0].changes] == described and changed[0].text_diff == two.text_diff

        (alert,) = webhook.about(key(ad))
        assert "Changes since the last version:" in alert.body
        assert f"- phones: {OLD_E164} -> {NEW_E164}" in alert.body and "£200" in alert.body
        assert "Text changes:" in alert.body and "http://" not in alert.body

        shown = vigil_env.run("ad", "history", ad_key, "--json")
        assert shown.returncode == 0, shown.stderr
        listed = json.loads(shown.stdout)["versions"]
        assert [v["version"] for v in listed] == [1, 2] and listed[1]["changes"], listed
        assert [v["captures"] for v in listed] == [[c.model_dump(mode="json") for c in v.captures] for v in (one, two)]
        vigil_env.env["COLUMNS"] = "250"
        table = vigil_env.run("ad", "history", ad_key)
        assert table.returncode == 0 and "2 version(s)" in table.stdout and f"{OLD_E164} -> {NEW_E164}" in table.stdout, table
        print(table.stdout)


def raw_page(n: int, ad_id: str, text: str, capture: Capture) -> RawPage:
    body = f"<html><body><h1>Ad {ad_id}</h1><p>{text}</p></body></html>"
    url = f"http://board.test/ad/{ad_id}"
    return RawPage(
        profile_id="board", job_id=f"job-{n}", url=url, canonical_url=url, final_url=url, status=200,
        page_type="ad", ad_id=ad_id, body=body, body_sha256="", country="GB", capture=capture,
        fields={"title": f"Ad {ad_id}", "body": text},
    )  # fmt: skip


@pytest.mark.timeout(180)
def test_escalation_deletes_the_screenshots_of_every_version_and_records_it(vigil_env, tmp_path, processes):
    from vigil.core.elastic import client
    from vigil.core.evidence import open_store
    from vigil.core.kafka import producer

    configure(vigil_env, tmp_path, evidence={"store": str(tmp_path / "evidence")})
    settings = vigil_env.settings.model_copy(
        update={"evidence": vigil_env.settings.evidence.model_copy(update={"store": str(tmp_path / "evidence")})}
    )
    store = open_store(settings)
    captures = []
    for n in (1, 2):
        store.put_bytes(f"screenshots/shot-{n}.png", b"\x89PNG fake " + bytes([n]))
        captures.append(Capture(warc_file=f"warc/w{n}.warc.gz", offset=0, length=10, record_id=f"<urn:uuid:{n}>",
                                payload_sha256=f"{n:064x}", screenshot=f"screenshots/shot-{n}.png",
                                screenshot_sha256=f"{n:064x}"))  # fmt: skip
    pages = [
        raw_page(1, "77", "Relaxing massage near the station, call 07520 651234.", captures[0]),
        raw_page(2, "77", "Hi, I am Lisa, 16 years old, relaxing massage near the station, call 07520 651234.", captures[1]),
    ]
    uid = vigil_env.uid
    processes.append(Process(vigil_env, "enrich", "worker", "enrich", "--group", f"test-{uid}-enrich"))
    kafka = producer(settings.kafka)
    try:
        kafka.send(settings.kafka.topics.pages_raw, key=b"board:77", value=pages[0].to_bytes()).get(30)
        assert wait_for(lambda: len(versions(settings, "board:77")) == 1, timeout=90), processes[0].tail()
        assert store.exists("screenshots/shot-1.png"), "a version not escalated keeps its screenshot"
        kafka.send(settings.kafka.topics.pages_raw, key=b"board:77", value=pages[1].to_bytes()).get(30)
    finally:
        kafka.close()

    def purged() -> bool:
        found = versions(settings, "board:77")
        return len(found) == 2 and all(c.screenshot is None for v in found for c in v.captures)

    assert wait_for(purged, timeout=90), processes[0].tail()
    assert not store.exists("screenshots/shot-1.png") and not store.exists("screenshots/shot-2.png")
    one, two = versions(settings, "board:77")
    assert two.escalate and one.screenshot_deleted_at and one.captures[0].screenshot_deleted_at
    assert one.captures[0].warc_file == "warc/w1.warc.gz", "the WARC reference stays"
    es = client(settings.es)
    es.indices.refresh(index=settings.es.indices.audit)
    audit = es.search(index=settings.es.indices.audit, query={"term": {"action": "evidence.screenshot_deleted"}})
    deleted = sorted(hit["_source"]["parameters"]["screenshot"] for hit in audit["hits"]["hits"])
    assert deleted == ["screenshots/shot-1.png", "screenshots/shot-2.png"], deleted
    ad = es.get(index=settings.es.indices.ads, id="board:77")["_source"]
    assert ad["version"] == 2 and ad["capture"]["screenshot"] is None and ad["capture"]["warc_file"] == "warc/w2.warc.gz"
