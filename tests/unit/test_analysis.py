"""analyze(): the contract the enrich worker relies on, and robustness on arbitrary input."""

import hashlib
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.analysis import ANALYZER_VERSION, analyze
from vigil.core.entities import find_entities
from vigil.core.records import AdDocument, RawPage

FETCHED = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def page(body: str, **overrides) -> RawPage:
    values = dict(
        profile_id="site",
        job_id="job-1",
        url="https://site.example/ad/7",
        canonical_url="https://site.example/ad/7",
        final_url="https://site.example/ad/7",
        status=200,
        content_type="text/html",
        page_type="ad",
        country="NL",
        ad_id="7",
        fetched_at=FETCHED,
        body=body,
        body_sha256=hashlib.sha256(body.encode("utf-8", "replace")).hexdigest(),
    )
    values.update(overrides)
    return RawPage(**values)


AD = """<html><head><title>Lisa - site</title></head><body><h1>Lisa 16, new girl</h1>
<div>Hoi, ik ben Lisa, 16 jaar. Bel 06 twee drie vier vijf zes zeven acht negen of
mail lisa (at) gmail (dot) com. Telegram: @lisa_nl. Betaling alleen in bitcoin:
1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa. Prijs: € 150.</div></body></html>"""


def test_analyze_fills_the_document():
    doc = analyze(page(AD))
    assert isinstance(doc, AdDocument)
    assert doc.ad_key == "site:7" and doc.fetched_at == FETCHED
    assert doc.first_seen is None and doc.last_seen is None
    assert doc.title == "Lisa 16, new girl"
    assert doc.language == "nl"
    assert doc.phones == ["+31623456789"]
    assert doc.emails == ["lisa@gmail.com"]
    assert doc.wallets == ["1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"]
    assert doc.handles == ["telegram:lisa_nl"]
    assert doc.ages == [16]
    assert doc.price and doc.price.amount == 150 and doc.price.currency == "EUR"
    # By hand from pipelines/indicators.yaml: "16 jaar" is an age under 18, "new girl" youthful
    # wording, "alleen in bitcoin" crypto-only payment, the spelled-out digits an obfuscated phone.
    assert set(doc.indicator_ids) == {"stated_age_under_18", "youthful_language", "crypto_only_payment", "obfuscated_phone"}
    assert set(doc.categories) == {"minors", "youth", "payment", "deception"}
    assert doc.escalate and doc.risk > 90 and "ESCALATE" in doc.risk_explanation
    assert len(doc.content_hash) == 64 and len(doc.signature) == 128 and doc.cluster_id.startswith("mh-")
    for entity in doc.entities:
        if entity.start >= 0:
            assert doc.text[entity.start : entity.end] == entity.raw
    for hit in doc.indicators:
        for span in hit.evidence:
            if span.start >= 0:
                assert doc.text[span.start : span.end] == span.text
    assert doc.analyzer_version == ANALYZER_VERSION and ANALYZER_VERSION.count(".") == 2


def test_analyze_is_deterministic():
    first, second = analyze(page(AD)), analyze(page(AD, record_id="other"))
    assert first.model_dump(exclude={"record_id"}) == second.model_dump(exclude={"record_id"})


def test_profile_fields_are_preferred():
    doc = analyze(
        page(
            AD,
            fields={
                "title": "Field title",
                "body": "Field body text: call 06 12345678, I am 24 years old.",
                "price": "200 EUR",
                "location": "Utrecht",
                "posted": "2 days ago",
            },
        )
    )
    assert doc.title == "Field title"
    assert doc.text.startswith("Field body text")
    assert doc.phones == ["+31612345678"] and doc.ages == [24]
    assert doc.price.amount == 200 and doc.location == "Utrecht"
    assert doc.posted_at == datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert not doc.escalate


def test_ad_key_falls_back_to_canonical_url():
    assert analyze(page("<p>hello</p>", ad_id=None)).ad_key == "https://site.example/ad/7"


def test_title_only_entities_have_no_offsets():
    doc = analyze(page("<p>nothing to see here</p>", fields={"title": "Call 06 12345678"}))
    assert doc.phones == ["+31612345678"]
    assert doc.entities[0].start == -1


def test_plain_text_body_and_unknown_country():
    doc = analyze(page("Bel +31 6 12345678 nu", content_type="text/plain", country=None))
    assert doc.phones == ["+31612345678"] and doc.country is None


def test_a_multi_country_board_reads_national_numbers_in_the_ad_language_region():
    body = "<p>Hoi schatjes, ik ben Anna, net aangekomen in Amsterdam. Bel of WhatsApp: O6-12 34 56 78.</p>"
    doc = analyze(page(body, country="GB"))
    assert doc.language == "nl" and doc.country == "GB"
    assert doc.phones == ["+31612345678"]
    assert doc.handles == ["whatsapp:+31612345678"]
    german = "<p>Hallo, ich bin Lena, neu in der Stadt. Termine nur per Telefon 0151 / 234 567 89.</p>"
    assert analyze(page(german, country=None)).phones == ["+4915123456789"]


def test_templated_pages_share_cluster_id():
    body = (
        "<p>{n} here, sweet and discreet companion for generous gentlemen, clean private apartment near "
        "the central station, incall and outcall, no blocked numbers, serious callers only, call {p}</p>"
    )
    a = analyze(page(body.format(n="Anna", p="06 12345678"), ad_id="1"))
    b = analyze(page(body.format(n="Bella", p="06 87654321"), ad_id="2", profile_id="other-site"))
    c = analyze(page("<p>Warehouse staff wanted in Rotterdam, forklift licence, weekly pay via agency</p>"))
    assert a.cluster_id == b.cluster_id != c.cluster_id


html_fragments = st.lists(
    st.one_of(
        st.text(max_size=40),
        st.sampled_from(
            ["<p>", "</p>", "<br>", "<div class='x'>", "</div>", "<script>var a=1;</script>", "<h1>", "</h1>",
             "<img src='/a.jpg'>", "&#10084;", "&amp;", "<!--", "-->", "<![CDATA[", "<meta property='og:title' content='",
             "<script type='application/ld+json'>{", "0x", "bc1q", "+31", "@", " at ", " dot com", "06", "❤", "1️⃣",
             "\x00", "\ufffd", "â™¥", "<title>", "</title>", "<time datetime='", "'>"]
        ),
    ),
    max_size=30,
).map("".join)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=html_fragments, country=st.sampled_from([None, "NL", "US", "de", "XX", "1"]))
def test_analyze_never_raises_on_arbitrary_html(body, country):
    doc = analyze(page(body, country=country))
    assert 0 <= doc.risk <= 100


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=300), fields=st.dictionaries(st.sampled_from(["title", "body", "price", "posted", "location"]), st.text(max_size=60), max_size=5))
def test_analyze_never_raises_on_arbitrary_text_and_fields(text, fields):
    doc = analyze(page(text, content_type="text/plain", fields=fields))
    assert 0 <= doc.risk <= 100 and doc.ad_key and doc.analyzer_version == ANALYZER_VERSION
    for entity in doc.entities:
        if entity.start >= 0:
            assert doc.text[entity.start : entity.end] == entity.raw


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=300))
def test_entity_spans_are_exact_on_arbitrary_text(text):
    for entity in find_entities(text, "NL"):
        assert text[entity.start : entity.end] == entity.raw
