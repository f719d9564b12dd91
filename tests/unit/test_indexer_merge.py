"""The painless-free merge rules of the indexer (pure functions; the real-stack behaviour is in
tests/integration/test_enrich_worker.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipelines.indexer import RECORD_HISTORY, entity_refs, merge_ad, merge_entity
from vigil.core.records import AdDocument, Entity, doc_id

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def ad(record_id: str, at: datetime, text: str = "hello", **fields) -> AdDocument:
    return AdDocument(
        ad_key="site:1", profile_id="site", url="http://x/1", canonical_url="http://x/1", record_id=record_id,
        fetched_at=at, text=text, content_hash=text, **fields,
    )  # fmt: skip


def test_first_observation_is_new_and_a_redelivery_changes_nothing():
    source, status = merge_ad(None, ad("r1", T0))
    assert status == "new" and source["seen_count"] == 1 and source["record_ids"] == ["r1"]
    assert source["first_seen"] == source["last_seen"] == source["fetched_at"]
    assert merge_ad(source, ad("r1", T0 + timedelta(days=1))) == (None, "duplicate")


def test_later_observations_keep_first_seen_and_detect_changed_content():
    first, _ = merge_ad(None, ad("r1", T0))
    seen, status = merge_ad(first, ad("r2", T0 + timedelta(days=1)))
    assert status == "seen" and seen["seen_count"] == 2 and seen["first_seen"] == first["first_seen"]
    changed, status = merge_ad(seen, ad("r3", T0 + timedelta(days=2), text="new text"))
    assert status == "changed" and changed["text"] == "new text" and changed["seen_count"] == 3


def test_an_older_page_arriving_late_does_not_overwrite_newer_content():
    newer, _ = merge_ad(None, ad("r2", T0 + timedelta(days=1), text="newer"))
    merged, status = merge_ad(newer, ad("r1", T0, text="older"))
    assert status == "stale" and merged["text"] == "newer" and merged["seen_count"] == 2
    assert merged["first_seen"].startswith("2026-11-01") and merged["last_seen"].startswith("2026-11-02")


def test_record_history_is_bounded():
    source, _ = merge_ad(None, ad("r0", T0))
    for n in range(1, RECORD_HISTORY + 10):
        source, _ = merge_ad(source, ad(f"r{n}", T0 + timedelta(minutes=n)))
    assert (
        len(source["record_ids"]) == RECORD_HISTORY and source["record_ids"][-1] == f"r{RECORD_HISTORY + 9}"
    )


def test_entities_count_distinct_ads_and_replays_are_no_ops():
    doc = ad(
        "r1", T0, phones=["+17023864417"], entities=[Entity(type="phone", value="+17023864417")], country="US"
    )
    ((key, ref),) = entity_refs(doc).items()
    assert key == "phone:+17023864417"
    entity = merge_entity(None, ref, doc)
    assert entity["ad_count"] == 1 and entity["sites"] == ["site"] and entity["countries"] == ["US"]
    assert merge_entity(entity, ref, doc) is None
    other = doc.model_copy(update={"ad_key": "site:2", "fetched_at": T0 + timedelta(days=1)})
    entity = merge_entity(entity, ref, other)
    assert entity["ad_count"] == 2 and entity["ad_keys"] == ["site:1", "site:2"]
    assert entity["last_seen"].startswith("2026-11-02")


def test_long_keys_become_hashed_ids_within_the_limit():
    assert doc_id("site:1") == "site:1"
    long_id = doc_id("http://x/" + "a" * 600)
    assert long_id.startswith("sha256:") and len(long_id) < 512


def test_a_replay_by_a_new_analyser_version_replaces_content_in_place():
    first, _ = merge_ad(None, ad("r1", T0, analyzer_version="1"))
    second, _ = merge_ad(first, ad("r2", T0 + timedelta(days=1), analyzer_version="1"))
    assert merge_ad(second, ad("r2", T0 + timedelta(days=1), analyzer_version="1")) == (None, "duplicate")
    replayed, status = merge_ad(second, ad("r2", T0 + timedelta(days=1), text="better", analyzer_version="2"))
    assert status == "reanalysed" and replayed["text"] == "better" and replayed["analyzer_version"] == "2"
    for kept in ("first_seen", "last_seen", "seen_count", "record_ids"):
        assert replayed[kept] == second[kept], kept
    older_record = merge_ad(replayed, ad("r1", T0, text="old", analyzer_version="2"))
    assert older_record == (None, "duplicate"), "an older record replayed never overwrites newer content"


def test_an_entity_merges_a_batch_of_ads_at_once_as_it_would_one_by_one():
    ref = {"type": "phone", "value": "+17025550100", "kind": "mobile"}
    docs = [
        ad("r1", T0 + timedelta(hours=2)).model_copy(update={"ad_key": "site:1", "country": "US"}),
        ad("r2", T0).model_copy(update={"ad_key": "site:2", "country": "CA", "profile_id": "other"}),
        ad("r3", T0 + timedelta(hours=1)).model_copy(update={"ad_key": "site:1", "country": "US"}),
    ]
    one_by_one = None
    for doc in docs:
        one_by_one = merge_entity(one_by_one, ref, doc) or one_by_one
    assert merge_entity(None, ref, *docs) == one_by_one
    assert one_by_one["ad_keys"] == ["site:1", "site:2"] and one_by_one["ad_count"] == 2
    assert one_by_one["countries"] == ["US", "CA"] and one_by_one["sites"] == ["site", "other"]
    assert (
        one_by_one["first_seen"] == T0.isoformat()
        and one_by_one["last_seen"] == (T0 + timedelta(hours=2)).isoformat()
    )
    assert merge_entity(one_by_one, ref, *docs) is None, "merging the same ads again changes nothing"


def test_a_new_ad_is_written_as_the_same_json_as_merging_it_into_nothing():
    """The indexer serialises a new ad straight from its document (new_ad), every other merge from
    a dictionary: both must give the same JSON, or an ad would be stored differently by path."""
    import hashlib

    from pydantic_core import to_json

    from pipelines.analysis import analyze
    from pipelines.indexer import new_ad
    from vigil.core.records import RawPage

    html = (
        "<html><head><title>Anna 23, new in town</title></head><body><h1>Anna 23</h1><p>Sweet girl "
        "new in town, call 702-386-4417 or anna.m@example.org, $150 hh, incall only</p></body></html>"
    )
    page = RawPage(
        profile_id="site", job_id="j", url="http://x/1", canonical_url="http://x/1", final_url="http://x/1",
        status=200, page_type="ad", ad_id="1", country="US", body=html, body_bytes=len(html),
        body_sha256=hashlib.sha256(html.encode()).hexdigest(), fetched_at=T0,
    )  # fmt: skip
    doc = analyze(page)
    assert doc.entities and doc.indicators
    assert to_json(new_ad(doc)) == to_json(merge_ad(None, doc)[0])
