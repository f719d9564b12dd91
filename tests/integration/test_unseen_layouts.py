"""Layouts none of the example profiles knows (tests/fixture_site/unseen.py), each crawled with a
profile written from docs/profiles.md alone: a JSON directory whose entries sit deep in the body
behind a sponsored entry, paged by a whole next URL in the body; a bulletin board with no element
around a message, its id only in a permalink, older messages behind a button's cursor; a
single-page app whose listing is JSON in a script element; and an Atom feed paged by rel=next."""

from __future__ import annotations

import json

import pytest

from tests.fixture_site.unseen import UnseenSite
from tests.integration.test_crawl import read_pages, run_json, with_config

pytestmark = pytest.mark.integration

# Written from docs/profiles.md ("JSON sources", "Feeds, pagination ..."), for /v3/directory.
DIRECTORY_PROFILE = """
id: directory-api
source: json
start_urls: ["{url}v3/directory?region=north"]
country: NL
language: en
headers: {{Accept: "application/json"}}
ads:
  items:
    path: "response.listing.entries"
    id: "profile.uid"
    permalink: "href"
    fields:
      title: "profile.display_name"
      body: "profile.about"
      location: "profile.area.town"
      phone: "profile.contacts[?kind=='phone'].value | [0]"
      price: "join(' ', [to_string(profile.rates[0].amount), profile.rates[0].currency])"
      posted: "profile.created"
pagination: {{by: next_url, cursor: "links.next"}}
allow_private_network: true
limits: {{max_pages: 20, max_depth: 10}}
politeness: {{download_delay: 0, autothrottle: false}}
"""

# Written from docs/profiles.md ("Items without a wrapper element", "Feeds, pagination ..."), for /bulletin.
BULLETIN_PROFILE = """
id: bulletin
start_urls: ["{url}bulletin"]
country: NL
language: en
ads:
  items:
    css: "p.byline"
    siblings: true
    until: "hr, div.pager"
    id: {{css: "a.perma", attr: "href", regex: "/msg/(\\\\d+)$"}}
    permalink: {{css: "a.perma", attr: "href"}}
    fields:
      author: {{css: "a.who"}}
      posted: {{css: "span.ts"}}
      body: {{xpath: "./text()"}}
pagination: {{by: cursor, css: "button.older", attr: "data-cursor", param: cursor}}
allow_private_network: true
limits: {{max_pages: 20, max_depth: 10}}
politeness: {{download_delay: 0, autothrottle: false}}
"""

# Written from docs/profiles.md ("JSON inside an HTML page"), for /market.
MARKET_PROFILE = """
id: market
source: json
json_in: "script#__NEXT_DATA__"
start_urls: ["{url}market"]
country: DE
language: en
ads:
  items:
    path: "props.pageProps.listings.nodes"
    id: "id"
    permalink: "join('', ['/listing/', slug])"
    fields:
      title: "title"
      body: "description.plain"
      location: "location.city"
      seller: "seller.name"
pagination: {{by: cursor, cursor: "props.pageProps.pagination.nextPage", param: page}}
allow_private_network: true
limits: {{max_pages: 20, max_depth: 10}}
politeness: {{download_delay: 0, autothrottle: false}}
"""

# Written from docs/profiles.md ("RSS, Atom and other XML feeds"), for /news/atom.
NEWS_PROFILE = """
id: news-atom
source: xml
start_urls: ["{url}news/atom"]
country: FR
language: en
ads:
  items:
    css: "entry"
    id: {{css: "id", regex: "entry-(\\\\d+)$"}}
    permalink: {{css: "link[rel=alternate]", attr: "href"}}
    fields: {{title: "title", body: "content", posted: "updated"}}
pagination: {{by: next_url, css: "feed > link[rel=next]", attr: "href"}}
allow_private_network: true
limits: {{max_pages: 20, max_depth: 10}}
politeness: {{download_delay: 0, autothrottle: false}}
"""


def write(tmp_path, template: str, site: UnseenSite, name: str):
    path = tmp_path / f"{name}.yaml"
    path.write_text(template.format(url=site.url), encoding="utf-8")
    return path


def items_of(vigil_env, summary) -> tuple[dict, list]:
    records = [page for _, page in read_pages(vigil_env.settings, summary["published"])]
    return {page.ad_id: page for page in records if page.item_of}, [p for p in records if not p.item_of]


def test_json_directory_with_nested_entries_and_a_next_url(vigil_env, tmp_path):
    with_config(vigil_env, crawl={"validators_dir": str(tmp_path / "validators")})
    with UnseenSite() as site:
        path = write(tmp_path, DIRECTORY_PROFILE, site, "directory-api")
        result, summary = run_json(vigil_env, path, "--job-id", "job-directory")
        uids = [str(e["profile"]["uid"]) for e in site.directory]
        assert result.returncode == 0 and summary["ok"], result.stderr[-3000:]
        assert sorted(summary["ad_ids"]) == sorted(uids) and summary["pages"] == 3, summary
        assert summary["skipped"] == {"item_repeated": 2}, summary
        items, pages = items_of(vigil_env, summary)
        assert sorted(items) == sorted(uids) and len(pages) == 3
        entry = items["9017"]
        assert entry.fields == {
            "title": "Model 17",
            "body": entry.fields["body"],
            "location": "Lille",
            "phone": "+31 6 1234 9017",
            "price": "117 EUR",
            "posted": "2026-11-02T20:00:00Z",
        } and entry.fields["body"].startswith("New in Lille")
        assert entry.url == f"{site.url}p/9017-model" and entry.content_type == "application/json"
        assert json.loads(entry.body)["profile"]["uid"] == 9017

        known = tmp_path / "known.txt"
        known.write_text("\n".join(uids))
        _, again = run_json(vigil_env, path, "--no-publish", "--incremental", "--known-ads", known)
        assert again["ads"] == 0 and again["skipped"] == {"not_modified": 1}, again
        assert site.not_modified == 1 and again["pages"] == 1


def test_bulletin_without_wrappers_ids_in_permalinks_and_a_button_cursor(vigil_env, tmp_path):
    with UnseenSite() as site:
        path = write(tmp_path, BULLETIN_PROFILE, site, "bulletin")
        report = json.loads(vigil_env.run("profiles", "test", path, "--json", timeout=120).stdout)
        assert [i["ad_id"] for i in report["items"]] == [str(m["id"]) for m in site.bulletin[:8]], report
        assert len(report["next"]) == 1 and "?cursor=" in report["next"][0], report["next"]
        assert site.hits["/bulletin"] == 1

        result, summary = run_json(vigil_env, path, "--job-id", "job-bulletin")
        ids = [str(m["id"]) for m in site.bulletin]
        assert result.returncode == 0 and summary["ok"], result.stderr[-3000:]
        assert sorted(summary["ad_ids"]) == sorted(ids) and summary["pages"] == 3, summary
        items, _ = items_of(vigil_env, summary)
        assert sorted(items) == sorted(ids)
        newest, oldest = items[ids[0]], items[ids[-1]]
        assert newest.fields["author"] == site.bulletin[0]["author"]
        assert newest.fields["posted"] == site.bulletin[0]["at"]
        assert newest.fields["body"] == "\n".join(site.bulletin[0]["lines"])
        assert newest.url == f"{site.url}bulletin/msg/{ids[0]}"
        assert "advertise" not in oldest.body and "Be nice" not in newest.body, (oldest.body, newest.body)
        assert oldest.fields["body"] == "\n".join(site.bulletin[-1]["lines"])

        message = site.add_message("Just opened: club near Ghent needs girls, call 06 5550 9999.")
        known = tmp_path / "known.txt"
        known.write_text("\n".join(ids))
        _, fresh = run_json(vigil_env, path, "--no-publish", "--incremental", "--known-ads", known)
        assert fresh["ad_ids"] == [str(message["id"])] and fresh["pages"] == 1, fresh


def test_single_page_app_with_its_listing_as_json_in_a_script(vigil_env, tmp_path):
    with UnseenSite() as site:
        path = write(tmp_path, MARKET_PROFILE, site, "market")
        result, summary = run_json(vigil_env, path, "--job-id", "job-market")
        ids = [m["id"] for m in site.market]
    assert result.returncode == 0 and summary["ok"], result.stderr[-3000:]
    assert sorted(summary["ad_ids"]) == sorted(ids) and summary["pages"] == 3, summary
    items, pages = items_of(vigil_env, summary)
    assert sorted(items) == sorted(ids) and [p.content_type for p in pages] == ["text/html"] * 3
    listing = items["lst_007h"]
    assert listing.url == f"{site.url}listing/lille-hostess-7" and listing.fields["location"] == "Lille"
    assert listing.fields["body"].endswith("WhatsApp +49 151 4400 0007.") and listing.fields["seller"] == "Agency 7"


def test_atom_feed_with_namespaces_and_rfc5005_next_links(vigil_env, tmp_path):
    with UnseenSite() as site:
        path = write(tmp_path, NEWS_PROFILE, site, "news-atom")
        result, summary = run_json(vigil_env, path, "--job-id", "job-news")
        ids = [str(e["id"]) for e in site.news]
    assert result.returncode == 0 and summary["ok"], result.stderr[-3000:]
    assert sorted(summary["ad_ids"]) == sorted(ids) and summary["pages"] == 3, summary
    items, pages = items_of(vigil_env, summary)
    assert sorted(items) == sorted(ids) and {p.content_type for p in pages} == {"application/atom+xml"}
    entry = items["307"]
    assert entry.url == f"{site.url}news/307" and entry.content_type == "application/xml"
    assert entry.fields["title"] == "Au pair wanted in Lille" and entry.fields["posted"] == "2026-11-17T08:00:00Z"
    assert entry.fields["body"].startswith("<p>Family seeks <b>young girl</b>") and "+33 6 12 34 07 07" in entry.fields["body"]


# Written from docs/profiles.md ("JSON sources", the pagination table), for /v2/ads.
BARE_PROFILE = """
id: bare-api
source: json
start_urls: ["{url}v2/ads"]
ads:
  items:
    path: "@"
    id: "ad_id"
    fields: {{body: "text"}}
pagination: {{by: next_url, link_rel: next}}
allow_private_network: true
politeness: {{download_delay: 0, autothrottle: false}}
"""


def test_bare_json_list_paged_by_the_link_header(vigil_env, tmp_path):
    with UnseenSite() as site:
        path = write(tmp_path, BARE_PROFILE, site, "bare-api")
        result, summary = run_json(vigil_env, path, "--no-publish")
    assert result.returncode == 0 and summary["ok"], result.stderr[-3000:]
    assert sorted(summary["ad_ids"]) == [str(n) for n in range(801, 811)] and summary["pages"] == 3, summary


# Written from docs/profiles.md ("HTML inside a JSON response"), for /wall/more.
WALL_PROFILE = """
id: wall
html_in: "html"
start_urls: ["{url}wall/more"]
ads:
  items:
    css: "article.wall-post"
    id: {{attr: "data-id"}}
    fields: {{body: ".txt"}}
pagination: {{by: cursor, cursor: "next_before", param: before}}
allow_private_network: true
politeness: {{download_delay: 0, autothrottle: false}}
"""


def test_load_more_endpoint_with_html_inside_json(vigil_env, tmp_path):
    with UnseenSite() as site:
        path = write(tmp_path, WALL_PROFILE, site, "wall")
        result, summary = run_json(vigil_env, path, "--job-id", "job-wall")
    assert result.returncode == 0 and summary["ok"], result.stderr[-3000:]
    assert sorted(summary["ad_ids"]) == [str(n) for n in range(600, 616)] and summary["pages"] == 3, summary
    items, pages = items_of(vigil_env, summary)
    assert {p.content_type for p in pages} == {"application/json"} and items["607"].content_type == "text/html"
    assert items["607"].fields["body"].endswith("call 0170 666 0607") and items["607"].body.startswith("<article")
