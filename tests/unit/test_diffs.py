"""The field-level diff between two versions of an ad (pure; bounded for hostile text)."""

from __future__ import annotations

import random
import time

from pipelines.diffs import TEXT_DIFF_CHARS, field_changes, price_text, text_diff
from vigil.core.records import FieldChange


def test_a_replaced_phone_reads_x_to_y_and_other_contacts_are_added_or_removed():
    before = {"phones": ["+447911123456"], "emails": ["a@example.com", "b@example.com"], "handles": []}
    after = {"phones": ["+447922654321"], "emails": ["b@example.com"], "handles": ["telegram:mia", "snap:mia"]}
    changes = field_changes(before, after)
    assert FieldChange(field="phones", change="changed", before="+447911123456", after="+447922654321") in changes
    assert FieldChange(field="emails", change="removed", before="a@example.com") in changes
    assert {c.after for c in changes if c.field == "handles" and c.change == "added"} == {"telegram:mia", "snap:mia"}
    assert [c.describe() for c in changes][0] == "phones: +447911123456 -> +447922654321"


def test_price_location_and_title_changes_and_nothing_when_equal():
    before = {"title": "Mia  new", "price": {"amount": 150.0, "currency": "GBP", "raw": "£150 / hour"}, "location": None}
    after = {"title": "Mia new", "price": {"amount": 200.0, "currency": "GBP", "raw": "£200 / hour"}, "location": "Leeds"}
    changes = {c.field: c for c in field_changes(before, after)}
    assert "title" not in changes  # only whitespace differs
    assert (changes["price"].before, changes["price"].after) == ("£150 / hour", "£200 / hour")
    assert changes["location"].change == "added" and changes["location"].after == "Leeds"
    assert field_changes(after, after) == []
    assert price_text({"amount": 80.0, "currency": "EUR", "raw": ""}) == "80 EUR"


def test_many_contact_changes_are_bounded():
    before = {"phones": [f"+1555000{n:04d}" for n in range(500)]}
    after = {"phones": [f"+1666000{n:04d}" for n in range(500)]}
    changes = field_changes(before, after)
    assert len(changes) == 40
    long = field_changes({"emails": []}, {"emails": ["x" * 10_000 + "@example.com"]})
    assert len(long[0].after) == 200


def test_text_diff_names_the_changed_words_only():
    diff = text_diff("Call me on 0791 123 now, honey. Outcalls only.", "Call me on 0792 555 now, honey. Outcalls only.")
    assert diff.splitlines() == ["- 0791 123", "+ 0792 555"]
    assert text_diff("same text", "same  text") == ""
    assert text_diff("", "brand new") == "+ brand new"


def test_text_diff_of_hostile_megabytes_is_fast_and_short():
    rng = random.Random(16)
    cases = [
        (" ".join(rng.choice("ab") for _ in range(1_000_000)), " ".join(rng.choice("ab") for _ in range(1_000_000))),
        ("x" * 2_000_000, "y" * 2_000_000),
        (" ".join(str(rng.random()) for _ in range(100_000)), " ".join(str(rng.random()) for _ in range(100_000))),
    ]
    for before, after in cases:
        started = time.perf_counter()
        diff = text_diff(before, after)
        elapsed = time.perf_counter() - started
        assert elapsed < 0.5, elapsed
        assert 0 < len(diff) <= TEXT_DIFF_CHARS


def test_an_edit_past_the_words_read_is_reported_as_cut_short():
    words = " ".join(f"w{n}" for n in range(10_000))
    assert "cut short" in text_diff(words + " end", words + " finish")
