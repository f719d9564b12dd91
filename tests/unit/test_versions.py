"""Ad versions from the indexer's outcomes, merged without scripts (pure; the real stack is in
tests/integration/test_versions.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipelines.indexer import Observation, Outcome, merge_ad
from pipelines.versions import MAX_CAPTURES, merge_version, sighting, without_screenshots
from vigil.core.records import AdDocument, AdVersion, Capture, version_id

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def capture(n: int, screenshot: bool = False) -> Capture:
    return Capture(
        warc_file=f"warc/board-{n}.warc.gz", offset=n * 100, length=100, record_id=f"<urn:uuid:{n}>",
        payload_sha256=f"{n:064x}", screenshot=f"shots/{n}.png" if screenshot else None,
        screenshot_sha256=f"{n:064x}" if screenshot else None,
    )  # fmt: skip


def ad(record_id: str, at: datetime, text: str, phones=(), n: int = 0, **fields) -> AdDocument:
    return AdDocument(
        ad_key="board:7", profile_id="board", url="http://x/7", canonical_url="http://x/7", record_id=record_id,
        fetched_at=at, text=text, content_hash=text, phones=list(phones), capture=capture(n, **fields),
    )  # fmt: skip


def observe(source, doc: AdDocument) -> tuple[dict, Outcome]:
    """What the indexer does for one observation: merge_ad, then the outcome it reports."""
    merged, status = merge_ad(source, doc)
    document = AdDocument.model_validate(merged) if status in ("new", "changed") else None
    return (merged if merged is not None else source), Outcome(Observation(doc), status, document, source)


def test_new_then_seen_then_changed_gives_two_versions_with_the_diff():
    a1 = ad("r1", T0, "call 0791", phones=["+447911123456"], n=1)
    source, new = observe(None, a1)
    first = sighting(new)
    assert first.vid == version_id("board:7", 1, "call 0791")
    version = merge_version(None, first)
    assert version["version"] == 1 and version["changes"] == [] and version["captures"][0]["offset"] == 100

    source, seen = observe(source, ad("r2", T0 + timedelta(hours=1), "call 0791", phones=["+447911123456"], n=2))
    again = sighting(seen)
    assert again.vid == first.vid
    version = merge_version(version, again)
    assert version["seen_count"] == 2 and version["last_seen"].startswith("2026-11-01T01")
    assert [c["page_record_id"] for c in version["captures"]] == ["r1", "r2"]
    assert merge_version(version, again) is None  # re-delivery: nothing to write

    source, changed = observe(source, ad("r3", T0 + timedelta(days=1), "call 0792", phones=["+447922654321"], n=3))
    assert changed.status == "changed" and source["version"] == 2
    second = merge_version(None, sighting(changed))
    parsed = AdVersion.model_validate(second)
    assert parsed.version == 2 and parsed.previous_hash == "call 0791"
    assert [c.describe() for c in parsed.changes] == ["phones: +447911123456 -> +447922654321"]
    assert parsed.text_diff == "- 0791\n+ 0792"


def test_content_that_comes_back_is_a_new_version():
    source, _ = observe(None, ad("r1", T0, "one"))
    source, _ = observe(source, ad("r2", T0 + timedelta(hours=1), "two"))
    source, back = observe(source, ad("r3", T0 + timedelta(hours=2), "one"))
    assert back.status == "changed" and sighting(back).vid == version_id("board:7", 3, "one")


def test_captures_keep_the_first_and_the_most_recent():
    source, new = observe(None, ad("r0", T0, "same", n=0))
    version = merge_version(None, sighting(new))
    for n in range(1, 30):
        source, seen = observe(source, ad(f"r{n}", T0 + timedelta(minutes=n), "same", n=n))
        version = merge_version(version, sighting(seen))
    offsets = [c["offset"] // 100 for c in version["captures"]]
    assert len(offsets) == MAX_CAPTURES and offsets[0] == 0 and offsets[-1] == 29
    assert version["captures_seen"] == 30 and version["seen_count"] == 30


def test_an_escalated_version_keeps_no_screenshot():
    source, new = observe(None, ad("r1", T0, "text", n=1, screenshot=True))
    version = merge_version(None, sighting(new))
    assert version["captures"][0]["screenshot"] == "shots/1.png"
    cleared, gone = without_screenshots(version, "2026-11-02T00:00:00+00:00")
    assert [c["screenshot"] for c in gone] == ["shots/1.png"]
    assert cleared["captures"][0]["screenshot"] is None and cleared["screenshot_deleted_at"]
    assert cleared["captures"][0]["screenshot_deleted_at"] == "2026-11-02T00:00:00+00:00"
    flagged = ad("r2", T0 + timedelta(hours=1), "text", n=2, screenshot=True).model_copy(update={"escalate": True})
    source, seen = observe(source, flagged)
    merged = merge_version(version, sighting(seen))
    assert all(c["screenshot"] is None for c in merged["captures"]) and merged["escalate"]
