"""The crawler's bounds (issue 12): profile fields are cut, and a record always fits the broker or
is refused on its own (RecordTooLarge, counted; the crawl goes on: see test_hostile_corpus)."""

from __future__ import annotations

import time

import pytest
from scrapy.http import HtmlResponse

from crawlers.pages import extract_fields
from crawlers.publishing import RecordTooLarge, fit
from vigil.core.profiles import SiteProfile
from vigil.core.records import RawPage

LIMIT = 4 * 1024 * 1024 - 64 * 1024


def record(body: str = "", fields: dict[str, str] | None = None, url: str = "http://127.0.0.1/ad/1") -> RawPage:
    return RawPage(
        profile_id="p", job_id="j", url=url, canonical_url=url, final_url=url, status=200, page_type="ad",
        body=body, body_sha256="0" * 64, fields=fields or {},
    )  # fmt: skip


def test_two_megabytes_of_quotes_are_shortened_to_fit_not_emptied():
    page = record(body='"' * 3_000_000)  # 6 MB of JSON: every quote is escaped
    value = fit(page, LIMIT)
    assert len(value) <= LIMIT and page.truncated
    assert len(page.body) > 1_500_000, "the body was cut far more than needed"


def test_fields_are_shortened_as_well_as_the_body():
    page = record(body="b" * 1_000_000, fields={"body": "f" * 5_000_000, "title": "t"})
    value = fit(page, LIMIT)
    assert len(value) <= LIMIT and page.truncated
    assert page.fields["title"] == "t" and page.body and page.fields["body"]


def test_a_record_that_cannot_fit_is_refused_on_its_own():
    with pytest.raises(RecordTooLarge):
        fit(record(body="x" * 10_000, url="http://127.0.0.1/" + "a" * 70_000), 64 * 1024)


def profile() -> SiteProfile:
    return SiteProfile.model_validate(
        {
            "id": "hostile",
            "start_urls": ["http://127.0.0.1/"],
            "allowed_domains": ["127.0.0.1"],
            "ads": {"url_regex": r"/ad/\d+$", "fields": {"body": {"css": ".description"}, "title": {"css": "h1"}}},
        }
    )


def test_a_field_matching_fifty_thousand_elements_is_cut_without_reading_them_all():
    html = "<html><body><h1>Title</h1>" + '<p class="description">call me now please</p>' * 50_000 + "</body></html>"
    response = HtmlResponse("http://127.0.0.1/ad/1", body=html.encode(), encoding="utf-8")
    started = time.process_time()
    fields = extract_fields(response, profile(), max_chars=1000)
    assert len(fields["body"]) == 1000 and fields["title"] == "Title"
    assert time.process_time() - started < 10


def test_one_huge_match_is_cut():
    html = '<html><body><div class="description">' + "word " * 2_000_000 + "</div></body></html>"
    response = HtmlResponse("http://127.0.0.1/ad/1", body=html.encode(), encoding="utf-8")
    fields = extract_fields(response, profile(), max_chars=5000)
    assert len(fields["body"]) == 5000 and "title" not in fields


def test_a_json_item_field_is_cut_and_counted():
    from crawlers.items import json_value
    from vigil.core.metrics import LIMITS_HIT
    from vigil.core.profiles import ItemValue

    before = LIMITS_HIT.labels("field_chars")._value.get()
    entry = {"text": "call me " * 100_000, "tags": ["a"] * 100_000, "id": "7"}
    assert len(json_value(entry, ItemValue(path="text"), max_chars=1000)) == 1000
    assert len(json_value(entry, ItemValue(path="tags"), max_chars=1000)) == 1000
    assert json_value(entry, ItemValue(path="id"), max_chars=1000) == "7"
    assert LIMITS_HIT.labels("field_chars")._value.get() - before == 2
