"""Ads inside a page: profile keys for items, JSON sources and pagination; item extraction; next pages."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from scrapy.http import HtmlResponse

from crawlers.items import as_text, embedded_json, html_items, json_items, next_page, read_json
from crawlers.validators import Validators
from vigil.core.profiles import (
    ItemValue,
    Pagination,
    ProfileError,
    load_profile,
    load_profiles,
    parse_profile,
)
from vigil.core.records import SCHEMA_VERSION, RawPage

REPO = Path(__file__).resolve().parents[2]

CHANNEL = {
    "id": "chan",
    "start_urls": ["http://127.0.0.1:8710/s/chan"],
    "ads": {
        "items": {
            "css": "div.msg",
            "id": {"attr": "data-post", "regex": r"/(\d+)$"},
            "permalink": {"css": "a.date", "attr": "href"},
            "fields": {"body": ".text", "posted": {"css": "time", "attr": "datetime"}},
        }
    },
    "pagination": {"by": "item_id", "param": "before"},
}

JSON = {
    "id": "api",
    "source": "json",
    "start_urls": ["http://127.0.0.1:8710/api?limit=2"],
    "ads": {"items": {"path": "data[]", "id": "id", "permalink": "url", "fields": {"title": "name"}}},
    "pagination": {"by": "cursor", "cursor": "next", "param": "cursor"},
}


def test_example_profiles_are_valid():
    profiles, errors = load_profiles(REPO / "profiles" / "examples")
    assert not errors
    assert {p.id for p in profiles} == {"channel-preview", "forum-thread", "jobs-api", "modal-board"}
    assert {p.source for p in profiles} == {"html", "json"}


def test_shorthand_strings_follow_the_source():
    html = parse_profile(CHANNEL)
    assert html.ads.items.fields["body"] == ItemValue(css=".text")
    assert html.ads.stop_rule == "first_known"
    api = parse_profile(JSON)
    assert api.ads.items.id == ItemValue(path="id") and api.ads.items.fields["title"] == ItemValue(
        path="name"
    )
    assert parse_profile({**CHANNEL, "ads": {"url_regex": "/ad/"}}).ads.stop_rule == "all_known"


@pytest.mark.parametrize(
    ("profile", "key", "reason"),
    [
        ({**CHANNEL, "ads": {}}, "ads", "url_regex"),
        (
            {**CHANNEL, "ads": {"items": {"css": "div", "xpath": "//div", "id": "x"}}},
            "ads.items",
            "exactly one",
        ),
        ({**CHANNEL, "ads": {"items": {"css": "div"}}}, "ads.items.id", "required key is missing"),
        (
            {**CHANNEL, "ads": {"items": {"css": "div", "id": {"attr": "x", "regex": "(a)(b)"}}}},
            "ads.items.id.regex",
            "at most one capturing group",
        ),
        ({**JSON, "ads": {"items": {"path": "data[", "id": "id"}}}, "ads.items.path", "not a valid JMESPath"),
        ({**JSON, "ads": {"url_regex": "/ad/"}}, "ads.items.path", "needs items"),
        ({**JSON, "render_js": True}, "render_js", "not rendered"),
        ({**CHANNEL, "ads": {"items": {"path": "x", "id": "id"}}}, "ads.items.path", "needs source: json"),
        (
            {**CHANNEL, "pagination": {"by": "cursor", "cursor": "next", "param": "c"}},
            "pagination.cursor",
            "needs source: json",
        ),
        ({**CHANNEL, "pagination": {"by": "page"}}, "pagination", "exactly one of param, url"),
        ({**CHANNEL, "pagination": {"by": "page", "url": "/p/"}}, "pagination.url", "{value}"),
        (
            {**JSON, "pagination": {"by": "cursor", "param": "c"}},
            "pagination",
            "exactly one of cursor (JMESPath, JSON), css, xpath (HTML) or link_rel",
        ),
        (
            {**JSON, "pagination": {"by": "next_url", "css": "a.more", "attr": "href"}},
            "pagination.css",
            "cursor (JMESPath)",
        ),
        (
            {**CHANNEL, "pagination": {"by": "page", "param": "p", "css": "a.more"}},
            "pagination",
            "only for by: cursor or next_url",
        ),
        (
            {**CHANNEL, "ads": {"items": {**CHANNEL["ads"]["items"], "until": "hr"}}},
            "ads.items",
            "until: only with siblings",
        ),
        (
            {**JSON, "ads": {"items": {**JSON["ads"]["items"], "siblings": True}}},
            "ads.items",
            "siblings: only for HTML",
        ),
        (
            {**CHANNEL, "ads": {"items": {**CHANNEL["ads"]["items"], "detail": {"url": "/api/ad"}}}},
            "ads.items.detail.url",
            "{id}",
        ),
        (
            {**CHANNEL, "ads": {**CHANNEL["ads"], "incremental_stop": "sometimes"}},
            "ads.incremental_stop",
            "first_known",
        ),
    ],
)
def test_errors_name_file_key_and_reason(tmp_path, profile, key, reason):
    path = tmp_path / f"{profile['id']}.yaml"
    path.write_text(yaml.safe_dump(profile))
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    assert caught.value.key == key and reason in caught.value.reason, str(caught.value)
    assert str(caught.value).startswith(str(path))


PAGE = """<html><body>
<a class="more" data-before="12"></a>
<div class="msg" data-post="chan/12"><div class="text">First   post
 <b>bold</b></div><a class="date" href="/chan/12"><time datetime="2026-11-01T10:00">10:00</time></a></div>
<div class="msg" data-post="chan/13"><div class="text">Second post</div><a class="date" href="/chan/13"></a></div>
<div class="msg"><div class="text">an ad banner without id</div></div>
</body></html>"""


def test_html_items_are_read_relative_to_each_item():
    profile = parse_profile(CHANNEL)
    response = HtmlResponse("http://127.0.0.1:8710/s/chan", body=PAGE.encode(), encoding="utf-8")
    cut = html_items(response, profile.ads.items, limit=10)
    assert [i.id for i in cut.items] == ["12", "13"] and cut.without_id == 1
    first = cut.items[0]
    assert first.permalink == "http://127.0.0.1:8710/chan/12"
    assert first.fields == {"body": "First post bold", "posted": "2026-11-01T10:00"}
    assert cut.items[1].fields == {"body": "Second post"}
    assert first.body.startswith('<div class="msg" data-post="chan/12">') and "Second" not in first.body
    limited = html_items(response, profile.ads.items, limit=1)
    assert len(limited.items) == 1 and limited.over_limit == 2


def test_json_items_and_values():
    profile = parse_profile(JSON)
    data = {
        "data": [{"id": 7, "url": "/ad/7", "name": "Seven"}, {"name": "no id"}, {"id": "x8", "name": None}]
    }
    cut = json_items(data, profile.ads.items, "http://127.0.0.1:8710/api?limit=2", limit=10)
    assert [(i.id, i.permalink, i.fields) for i in cut.items] == [
        ("7", "http://127.0.0.1:8710/ad/7", {"title": "Seven"}),
        ("x8", None, {}),
    ]
    assert cut.without_id == 1 and cut.items[0].content_type == "application/json"
    assert json_items({"data": "not a list"}, profile.ads.items, "http://x/", 10).items == []
    assert as_text(["a", 2, None, {"k": True}]) == 'a\n2\n{"k": true}'
    assert as_text(False) == "false" and as_text("  ") is None and as_text([]) is None


BOARD = """<html><body><div id="content"><h1>Bulletin</h1>
<div class="rules">Rules: admin 06 5550 0001</div>
<p class="byline"><a class="who">ann</a> <a class="perma" href="/msg/41">#</a></p>
First line<br>second <b>bold</b> line<br>
<hr>
<p class="byline"><a class="who">bob</a> <a class="perma" href="/msg/38">#</a></p>
Only line<br>
<p class="byline"><a class="who">no permalink</a></p>spam
<p class="byline"><a class="who">cy</a> <a class="perma" href="/msg/30">#</a></p>
Last post
<div class="pager"><button class="older" data-cursor=" c1f3 ">Older</button> call 06 0000</div>
</div></body></html>"""


def test_items_without_a_wrapper_run_over_their_siblings():
    rule = {"css": "p.byline", "siblings": True, "until": "hr, div.pager"}
    rule |= {"id": {"css": "a.perma", "attr": "href", "regex": r"/msg/(\d+)$"}}
    rule |= {"fields": {"who": "a.who", "body": {"xpath": "./text()"}, "start": {"attr": "class"}}}
    rule["fields"]["all"] = {"xpath": "./node()[position() > 1]"}
    profile = parse_profile({**CHANNEL, "ads": {"items": rule}})
    response = HtmlResponse("http://127.0.0.1:8710/bulletin", body=BOARD.encode(), encoding="utf-8")
    cut = html_items(response, profile.ads.items, limit=10)
    assert [i.id for i in cut.items] == ["41", "38", "30"] and cut.without_id == 1
    first, second, last = cut.items
    assert first.fields == {
        "who": "ann",
        "body": "First line\nsecond\nline",
        "start": "byline",
        "all": "First line\nsecond\nbold\nline",
    }
    assert "<b>bold</b>" in first.body and "<hr>" not in first.body and "Rules" not in first.body
    assert second.fields["body"] == "Only line" and "spam" not in second.body
    assert last.fields["body"] == "Last post" and "06 0000" not in last.body and "pager" not in last.body
    limited = html_items(response, profile.ads.items, limit=2)
    assert [i.id for i in limited.items] == ["41", "38"] and limited.over_limit == 2


def test_a_cursor_or_next_url_read_from_the_html_page():
    response = HtmlResponse("http://127.0.0.1:8710/bulletin?x=1", body=BOARD.encode(), encoding="utf-8")
    rule = Pagination(by="cursor", css="button.older", attr="data-cursor", param="cursor")
    assert next_page(response.url, rule, ["41"], page=response) == (
        "http://127.0.0.1:8710/bulletin?x=1&cursor=c1f3",
        "c1f3",
    )
    by_text = Pagination(by="next_url", xpath="//a[@class='perma']/@href")
    assert next_page(response.url, by_text, [], page=response) == ("http://127.0.0.1:8710/msg/41", "/msg/41")
    missing = Pagination(by="cursor", css="button.newer", attr="data-cursor", param="cursor")
    assert next_page(response.url, missing, ["41"], page=response) is None
    assert next_page(response.url, rule, ["41"]) is None


@pytest.mark.parametrize(
    ("rule", "url", "ids", "data", "given", "expected"),
    [
        ({"by": "page", "param": "page"}, "http://h/l", ["1"], None, None, ("http://h/l?page=2", "2")),
        ({"by": "page", "param": "page"}, "http://h/l?page=4", ["1"], None, None, ("http://h/l?page=5", "5")),
        ({"by": "page", "param": "page"}, "http://h/l?page=4", [], None, None, None),
        (
            {"by": "offset", "param": "offset"},
            "http://h/l?offset=20",
            ["a", "b"],
            None,
            None,
            ("http://h/l?offset=22", "22"),
        ),
        (
            {"by": "offset", "url": "/l/{value}.json", "step": 50},
            "http://h/l/0.json",
            ["a"],
            None,
            "50",
            ("http://h/l/100.json", "100"),
        ),
        (
            {"by": "cursor", "cursor": "meta.next", "param": "c"},
            "http://h/a?c=1",
            [],
            {"meta": {"next": "x y"}},
            None,
            ("http://h/a?c=x+y", "x y"),
        ),
        (
            {"by": "cursor", "cursor": "meta.next", "param": "c"},
            "http://h/a",
            ["1"],
            {"meta": {"next": None}},
            None,
            None,
        ),
        (
            {"by": "next_url", "cursor": "links.next"},
            "http://h/a?p=1",
            ["1"],
            {"links": {"next": "/a?p=2"}},
            None,
            ("http://h/a?p=2", "/a?p=2"),
        ),
        (
            {"by": "item_id", "param": "before"},
            "http://h/s/c",
            ["12", "9", "100"],
            None,
            None,
            ("http://h/s/c?before=9", "9"),
        ),
        (
            {"by": "item_id", "param": "after", "item": "max"},
            "http://h/s/c?after=3",
            ["12", "9", "100"],
            None,
            None,
            ("http://h/s/c?after=100", "100"),
        ),
        (
            {"by": "item_id", "param": "before", "item": "last"},
            "http://h/f",
            ["b", "a", "c"],
            None,
            None,
            ("http://h/f?before=c", "c"),
        ),
        (
            {"by": "item_id", "param": "before"},
            "http://h/f",
            ["b", "a", "c"],
            None,
            None,
            ("http://h/f?before=a", "a"),
        ),
    ],
)
def test_next_page(rule, url, ids, data, given, expected):
    assert next_page(url, Pagination(**rule), ids, data, given) == expected


def test_validators_round_trip_and_ignore_broken_files(tmp_path):
    path = tmp_path / "v" / "p.json"
    store = Validators(path)
    store.remember("http://h/a", '"abc"', "Mon, 30 Nov 2026 08:00:00 GMT")
    store.remember("http://h/b", None, None)
    store.save()
    again = Validators(path)
    assert again.headers("http://h/a") == {
        "If-None-Match": '"abc"',
        "If-Modified-Since": "Mon, 30 Nov 2026 08:00:00 GMT",
    }
    assert again.headers("http://h/b") == {}
    path.write_text("{not json")
    assert Validators(path).entries == {}


def test_raw_page_version_2_reads_version_1_records():
    old = RawPage(
        profile_id="p",
        job_id="j",
        url="http://h/",
        canonical_url="http://h/",
        final_url="http://h/",
        status=200,
        page_type="listing",
        body="",
        body_sha256="",
    ).model_dump(mode="json")
    old.pop("item_of")
    old["schema_version"] = 1
    parsed = RawPage.model_validate(old)
    assert parsed.item_of is None and SCHEMA_VERSION >= 2


@pytest.mark.parametrize(
    "text",
    [
        '{"a": [1]}',
        '\ufeff{"a": [1]}',
        ')]}\'\n{"a": [1]}',
        ')]}\',\n{"a": [1]}',
        'while(1);{"a": [1]}',
        'for(;;);{"a": [1]}',
        'jQuery3110_17({"a": [1]});',
        '/**/ cb.feed ( {"a": [1]} ) ;\n',
    ],
)
def test_json_is_read_through_anti_hijacking_prefixes_and_jsonp(text):
    assert read_json(text) == {"a": [1]}


@pytest.mark.parametrize("text", ["callback(", "<html></html>", 'cb({"a": 1}', ")]}'"])
def test_what_is_not_json_stays_an_error(text):
    with pytest.raises(ValueError):
        read_json(text)


def test_json_inside_an_html_page_and_composite_ids():
    page = (
        "<html><body><div id='__next'>Loading...</div><script id='__NEXT_DATA__' type='application/json'>"
        '{"props": {"items": [{"id": "x1", "slug": "a-b"}], "next": 2}}</script>'
        "<div class='p'><span class='author'>ann</span><time datetime='2026-11-02T10:00'>10:00</time></div>"
        "</body></html>"
    )
    response = HtmlResponse("http://127.0.0.1:8710/market", body=page.encode(), encoding="utf-8")
    profile = parse_profile(
        {
            **JSON,
            "json_in": "script#__NEXT_DATA__",
            "ads": {"items": {"path": "props.items", "id": "id", "permalink": "join('', ['/l/', slug])"}},
        }
    )
    data = embedded_json(response, profile.json_in)
    cut = json_items(data, profile.ads.items, response.url, limit=10)
    assert [(i.id, i.permalink) for i in cut.items] == [("x1", "http://127.0.0.1:8710/l/a-b")]
    with pytest.raises(ValueError, match="json_in"):
        embedded_json(response, "script#missing")
    with pytest.raises(ProfileError, match="json_in: needs source: json"):
        parse_profile({**CHANNEL, "json_in": "script"})

    keyed = parse_profile(
        {**CHANNEL, "ads": {"items": {"css": "div.p", "id": {"xpath": "concat(.//span[@class='author'], '|', .//time/@datetime)"}}}}
    )
    assert [i.id for i in html_items(response, keyed.ads.items, limit=5).items] == ["ann|2026-11-02T10:00"]


RSS = """<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Board</title>
<item><title>Cleaner wanted</title><link>https://board.example/ad/88</link><guid>urn:board:88</guid>
<description>&lt;p&gt;Call 0612345678&lt;/p&gt;</description><dc:creator>ann</dc:creator><pubDate>Mon, 30 Nov 2026 08:00:00 GMT</pubDate></item>
<item><title>Secret &x;</title><guid>urn:board:87</guid></item>
</channel></rss>"""


def test_rss_items_are_read_with_css_without_namespaces_or_entities():
    from scrapy.http import XmlResponse

    from crawlers.pages import xml_selector

    profile = parse_profile(
        {
            "id": "rss",
            "source": "xml",
            "start_urls": ["https://board.example/feed.rss"],
            "ads": {
                "items": {
                    "css": "item",
                    "id": {"css": "guid", "regex": r"(\d+)$"},
                    "permalink": {"css": "link"},
                    "fields": {"title": "title", "body": "description", "author": "creator"},
                }
            },
        }
    )
    response = XmlResponse("https://board.example/feed.rss", body=RSS.encode())
    cut = html_items(response, profile.ads.items, limit=10, page=xml_selector(response), item_type="application/xml")
    first, second = cut.items
    assert (first.id, first.permalink, first.content_type) == ("88", "https://board.example/ad/88", "application/xml")
    assert first.fields == {"title": "Cleaner wanted", "body": "<p>Call 0612345678</p>", "author": "ann"}
    assert second.id == "87" and "root:" not in second.body and "passwd" not in second.fields.get("title", "")
    with pytest.raises(ProfileError, match="an XML feed needs items"):
        parse_profile({"id": "x", "source": "xml", "start_urls": ["https://h/"], "ads": {"url_regex": "/a/"}})


def test_sibling_items_never_overlap_however_deep_the_starts_nest():
    """Starts nested 400 deep and starts inside containers: each element is copied into one item at
    most, so the work stays linear in the page."""
    import time

    nested = "<div class='p' id='n0'>" + "".join(f"<div class='p' id='n{i}'>x" for i in range(1, 400)) + "</div>" * 400
    flat = "".join(f"<span class='p' id='s{i}'>s</span><i>text {i}</i>" for i in range(300))
    page = f"<html><body>{nested}<section>{flat}</section><p class='p' id='last'>tail</p><b>end</b></body></html>"
    response = HtmlResponse("http://h/", body=page.encode(), encoding="utf-8")
    profile = parse_profile({**CHANNEL, "ads": {"items": {"css": ".p", "siblings": True, "id": {"attr": "id"}}}})
    started = time.monotonic()
    cut = html_items(response, profile.ads.items, limit=1000)
    assert time.monotonic() - started < 5
    ids = [i.id for i in cut.items]
    assert ids[0] == "n0" and "n1" not in ids and len(ids) == 1 + 300 + 1, ids[:5]
    spans = {i.id: i for i in cut.items}
    assert spans["s7"].body == "<span class=\"p\" id=\"s7\">s</span><i>text 7</i>"
    assert "section" not in spans["n0"].body and spans["last"].body.endswith("<b>end</b>")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (['<https://api.h/ads?page=2>; rel="next", <https://api.h/ads?page=9>; rel="last"'], "https://api.h/ads?page=2"),
        (['<https://api.h/ads?page=1>; rel="prev"', '</ads?page=3>; title="x"; rel=next'], "/ads?page=3"),
        (['<https://api.h/ads?cursor=a,b>; rel="last next"'], "https://api.h/ads?cursor=a,b"),
        (['<https://api.h/ads?page=9>; rel="last"'], None),
        ([], None),
        (["<" * 100000], None),
    ],
)
def test_next_url_from_the_link_header(headers, expected):
    rule = Pagination(by="next_url", link_rel="next")
    found = next_page("https://api.h/ads?page=1", rule, ["1"], links=headers)
    assert (found[1] if found else None) == expected
    if expected:
        assert found[0].startswith("https://api.h/ads?")


def test_html_carried_by_a_json_response():
    from crawlers.items import html_in_json

    response = HtmlResponse("http://h/wall/more?before=9", body=b"{}", encoding="utf-8")
    page = html_in_json(response, {"html": ["<p class='a' data-id='1'>x</p>", "<p class='a' data-id='2'>y</p>"]}, "html")
    profile = parse_profile({**CHANNEL, "html_in": "html", "ads": {"items": {"css": "p.a", "id": {"attr": "data-id"}}},
                             "pagination": {"by": "cursor", "cursor": "next", "param": "before"}})  # fmt: skip
    assert [i.id for i in html_items(response, profile.ads.items, 10, page).items] == ["1", "2"]
    with pytest.raises(ValueError, match="not a string of HTML"):
        html_in_json(response, {"html": {"x": 1}}, "html")
    with pytest.raises(ProfileError, match="html_in: the HTML inside a JSON response is read with source: html"):
        parse_profile({**JSON, "html_in": "html"})
