"""Sources that are not one page per ad, on the real stack: a channel preview, a forum, a JSON API
and a board with JSON modals (tests/fixture_site/feeds.py) crawled with the example profiles of
profiles/examples/ into Kafka and enriched into Elasticsearch, one ad per post or item; incremental
and conditional re-crawls; the profile workbench; and a feed layout none of those profiles knows,
described by a profile written from docs/profiles.md alone."""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from tests.conftest import vigil_executable
from tests.fixture_site.feeds import FeedSite
from tests.fixture_site.notices import NoticeSite
from tests.fixture_site.unseen import UnseenSite
from tests.helpers import FIRST_OUTPUT, wait_for
from tests.integration.test_crawl import read_pages, run_json, with_config, write_profile
from tests.integration.test_monitoring import Process, configure, finished
from vigil.core.records import AdEvent

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
FAST = {"download_delay": 0, "concurrency": 4, "obey_robots": True, "autothrottle": False}
EXPECTED = {
    "channel-preview": {str(n) for n in range(101, 118)},
    "forum-thread": {str(n) for n in range(5001, 5030)},
    "jobs-api": {f"J-{n}" for n in range(501, 513)},
    "modal-board": {str(n) for n in range(71, 81)},
}


def example(site, name: str, **changes) -> dict:
    """An example profile pointed at this test's fixture, without delays."""
    text = (REPO / "profiles" / "examples" / f"{name}.yaml").read_text(encoding="utf-8")
    profile = yaml.safe_load(text.replace("http://127.0.0.1:8710/", site.url))
    profile["politeness"] = dict(FAST)
    profile.update(changes)
    return profile


def read_events(settings) -> list[AdEvent]:
    from vigil.core.kafka import consumer

    client = consumer(settings.kafka, None, settings.kafka.topics.ad_events, consumer_timeout_ms=3000)
    try:
        return [AdEvent.from_bytes(message.value) for message in client]
    finally:
        client.close()


def ads_in_es(es, alias: str) -> dict[str, dict]:
    es.indices.refresh(index=alias)
    hits = es.search(index=alias, size=500, query={"match_all": {}})["hits"]["hits"]
    return {hit["_id"]: hit["_source"] for hit in hits}


@pytest.mark.timeout(300)
def test_each_family_crawls_into_elasticsearch_one_ad_per_item(vigil_env, tmp_path):
    from vigil.core.elastic import client

    settings = vigil_env.settings
    with_config(vigil_env, crawl={"validators_dir": str(tmp_path / "validators")})
    with FeedSite() as site:
        for name, ids in EXPECTED.items():
            path = write_profile(tmp_path, example(site, name))
            result, summary = run_json(vigil_env, path, "--job-id", f"job-{name}")
            assert result.returncode == 0 and summary["ok"], result.stderr[-3000:]
            assert sorted(summary["ad_ids"]) == sorted(ids), (name, summary)
            print(f"{name}: {summary['pages']} requests, {summary['ads']} ads, {summary['seconds']}s")
        assert site.hits("/board/api/ads/75") == 1

        es = client(settings.es)
        alias = settings.es.indices.ads
        log_path = tmp_path / "enrich.log"
        with log_path.open("wb") as log:
            worker = subprocess.Popen(
                [vigil_executable(), "worker", "enrich", "--group", f"sources-{vigil_env.uid}"],
                env=vigil_env.env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
            total = sum(len(ids) for ids in EXPECTED.values())
            try:
                assert wait_for(lambda: len(ads_in_es(es, alias)) >= total, timeout=180), (
                    log_path.read_text()[-4000:]
                )
                with site.feeds.lock:
                    edited = next(p for p in site.feeds.posts if p["id"] == 110)
                    edited["text"] = "Edited: now in Glasgow only, new number 07520 658888."
                path = write_profile(tmp_path, example(site, "channel-preview"))
                result, _ = run_json(vigil_env, path, "--job-id", "job-channel-again")
                assert result.returncode == 0, result.stderr[-3000:]
                assert wait_for(
                    lambda: "Glasgow" in ads_in_es(es, alias)["channel-preview:110"]["text"], timeout=120
                ), log_path.read_text()[-4000:]
            finally:
                worker.terminate()
                assert worker.wait(timeout=60) == 0, log_path.read_text()[-4000:]

    events = Counter((e.event_type, e.ad_key) for e in read_events(settings))
    assert sorted(k for (kind, k) in events if kind == "ad.new") == sorted(
        f"{name}:{i}" for name, ids in EXPECTED.items() for i in ids
    )
    assert set(events.values()) == {1}, "an item raised more than one event of a kind"
    assert [k for (kind, k) in events if kind == "ad.changed"] == ["channel-preview:110"]
    docs = ads_in_es(es, alias)
    assert sorted(docs) == sorted(f"{name}:{i}" for name, ids in EXPECTED.items() for i in ids)
    post = docs["channel-preview:117"]
    assert post["url"] == f"{site.url}vigilchan/117" and post["phones"] == ["+447520650117"]
    assert "Milan" in post["text"] and post["ad_id"] == "117"
    reply = docs["forum-thread:5012"]
    assert reply["url"] == f"{site.url}forum/t/1?page=2#p5012" and reply["phones"] == ["+447520655012"]
    assert "passport" in reply["text"] and "sent from my phone" not in reply["text"]
    assert "documents_withheld" in reply["indicator_ids"], reply["indicator_ids"]
    job = docs["jobs-api:J-512"]
    assert job["title"] == "Seasonal workers wanted (Rotterdam)" and job["location"] == "Rotterdam"
    assert job["url"] == f"{site.url}jobs/J-512" and job["phones"] == ["+447520650212"]
    assert job["price"]["amount"] == 1920 and job["price"]["currency"] == "EUR"
    modal = docs["modal-board:78"]
    assert modal["title"] == "Massage studio Lyon #8" and modal["phones"] == ["+447520650308"]
    assert modal["url"] == f"{site.url}board/api/ads/78"

    # Versions per item (vigil-ad-versions): one for each item, a second for the edited post only.
    versions = settings.es.indices.ad_versions
    es.indices.refresh(index=versions)
    hits = es.search(index=versions, size=500, query={"match_all": {}})["hits"]["hits"]
    by_key = Counter(hit["_source"]["ad_key"] for hit in hits)
    assert sorted(by_key) == sorted(docs) and by_key["channel-preview:110"] == 2, by_key
    assert set(by_key.values()) == {1, 2} and sum(by_key.values()) == len(docs) + 1, by_key
    edited = max((h["_source"] for h in hits if h["_source"]["ad_key"] == "channel-preview:110"), key=lambda v: v["version"])
    assert edited["version"] == 2 and "Glasgow" in edited["text_diff"], edited


@pytest.mark.timeout(180)
def test_incremental_recrawls_stop_at_known_items_and_use_conditional_requests(vigil_env, tmp_path):
    with_config(vigil_env, crawl={"validators_dir": str(tmp_path / "validators")})
    known = tmp_path / "known.txt"
    with FeedSite() as site:
        api = write_profile(tmp_path, example(site, "jobs-api"))
        _, full = run_json(vigil_env, api, "--no-publish")
        assert full["ads"] == 12 and full["pages"] == 3, full
        known.write_text("\n".join(sorted(EXPECTED["jobs-api"])))
        _, again = run_json(vigil_env, api, "--no-publish", "--incremental", "--known-ads", known)
        assert again["ads"] == 0 and again["skipped"].get("not_modified") == 1, again
        assert site.not_modified("/api/v2/jobs") == 1

        channel = write_profile(tmp_path, example(site, "channel-preview"))
        known.write_text("\n".join(sorted(EXPECTED["channel-preview"])))
        _, unchanged = run_json(vigil_env, channel, "--no-publish", "--incremental", "--known-ads", known)
        assert unchanged["ads"] == 0 and unchanged["pages"] == 1, unchanged
        post = site.add_post("Just arrived: two new girls in Leeds, call 07520 659999 today only.")
        _, fresh = run_json(vigil_env, channel, "--no-publish", "--incremental", "--known-ads", known)
        print(f"incremental channel re-crawl after one post: {fresh['pages']} page(s), ads {fresh['ad_ids']}")
        assert fresh["ad_ids"] == [str(post["id"])] and fresh["pages"] == 1, fresh

        forum = write_profile(tmp_path, example(site, "forum-thread"))
        _, first = run_json(vigil_env, forum, "--no-publish")
        with site.feeds.lock:
            site.feeds.threads[1]["posts"].append({"id": 5999, "author": "late", "text": "A late reply."})
        known.write_text("\n".join(sorted(EXPECTED["forum-thread"])))
        _, replies = run_json(vigil_env, forum, "--no-publish", "--incremental", "--known-ads", known)
        assert replies["ad_ids"] == ["5999"] and replies["pages"] == first["pages"] == 5, replies


def test_workbench_shows_items_next_pages_and_refusals(vigil_env, tmp_path):
    with FeedSite() as site:
        channel = write_profile(tmp_path, example(site, "channel-preview"))
        result = vigil_env.run("profiles", "test", channel, "--json", timeout=120)
        assert result.returncode == 0, result.stderr[-3000:]
        report = json.loads(result.stdout)
        assert [i["ad_id"] for i in report["items"]] == ["113", "114", "115", "116", "117"]
        assert report["items"][0]["fields"]["posted"].startswith("2026-11-")
        assert report["next"] == [f"{site.url}s/vigilchan?before=113"]
        assert site.hits("/s/vigilchan") == 1, "the workbench fetched more than the one page"

        board = write_profile(tmp_path, example(site, "modal-board"))
        report = json.loads(vigil_env.run("profiles", "test", board, "--json", timeout=120).stdout)
        assert report["item_count"] == 3 and len(report["details"]) == 3
        assert report["items"][0]["fields"]["body"].startswith("Relaxing massage")
        assert f"{site.url}board/?p=2" in report["next"]

        guarded = write_profile(tmp_path, example(site, "jobs-api", allow_private_network=False))
        refused = vigil_env.run("profiles", "test", guarded, "--json", timeout=120)
        assert refused.returncode == 1
        report = json.loads(refused.stdout)
        assert [r["cause"] for r in report["refused"]] == ["ssrf_refused"] and not report["items"]
        plain = vigil_env.run(
            "profiles", "test", channel, "--url", f"{site.url}s/vigilchan?before=103", timeout=120
        )
        assert plain.returncode == 0 and "101" in plain.stdout and "102" in plain.stdout, plain.stdout
    assert read_pages(vigil_env.settings, 0, timeout_ms=1500) == [], "the workbench published records"


# Written from docs/profiles.md alone, for tests/fixture_site/notices.py: a newest-first table of
# notices keyed by data-key, older notices behind a link, no page per notice.
NOTICES_PROFILE = """
id: notices
start_urls: ["{url}notices"]
country: GB
language: en
follow:
  - css: "p.nav a"
ads:
  items:
    xpath: "//table[@id='board']//tr"
    id: {{attr: "data-key"}}
    fields:
      posted: {{css: "td.when"}}
      body: {{xpath: "./td[2]"}}
      phone: {{xpath: "./td[3]"}}
allow_private_network: true
limits: {{max_pages: 20, max_depth: 10}}
politeness: {{download_delay: 0, autothrottle: false}}
"""


def test_unseen_feed_layout_crawls_completely_from_a_docs_only_profile(vigil_env, tmp_path):
    with NoticeSite() as site:
        path = tmp_path / "notices.yaml"
        path.write_text(NOTICES_PROFILE.format(url=site.url))
        result, summary = run_json(vigil_env, path, "--job-id", "job-notices")
        keys = [n["key"] for n in site.notices]
    assert result.returncode == 0 and summary["ok"], result.stderr[-3000:]
    assert sorted(summary["ad_ids"]) == sorted(keys) and summary["pages"] == 3, summary
    assert summary["skipped"] == {"item_without_id": 3}, summary
    records = [page for _, page in read_pages(vigil_env.settings, summary["published"])]
    items = {page.ad_id: page for page in records if page.item_of}
    assert sorted(items) == sorted(keys) and len(records) == len(keys) + 3
    first = items["N-2026-0021"]
    assert first.fields["phone"] == "tel. 07520 660021" and "we hold your ID" in first.fields["body"]
    assert first.canonical_url == f"{site.url}notices#item-N-2026-0021" and first.page_type == "ad"


INTERVAL = 5.0


@pytest.mark.timeout(480)
def test_a_post_added_to_a_watched_feed_raises_exactly_one_new_ad_alert(vigil_env, tmp_path, processes, webhook):
    """Scheduler, crawl, enrich and alerts workers as workers, watching the channel preview: the
    baseline raises nothing, re-crawls stop at the first known post, one new post is one alert."""
    rules = {
        "rules": [{"id": "new-in-channel", "when": {"new_ad": True, "profiles": ["channel-preview"]}}],
        "subscribers": [{"id": "ops", "urls": [webhook.url], "rules": ["new-in-channel"], "digest": 0}],
    }
    configure(vigil_env, tmp_path, rules, crawl={"validators_dir": str(tmp_path / "validators")})
    settings = vigil_env.settings
    with FeedSite() as site:
        profile = example(site, "channel-preview")
        (tmp_path / "profiles" / "channel-preview.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
        added = vigil_env.run("watch", "add", "channel-preview", "--every", f"{INTERVAL:g}s")
        assert added.returncode == 0, added.stderr

        uid = vigil_env.uid
        processes.append(Process(vigil_env, "enrich", "worker", "enrich", "--group", f"test-{uid}-enrich"))
        processes.append(Process(vigil_env, "alerts", "worker", "alerts"))
        processes.append(Process(vigil_env, "crawl", "worker", "crawl", "--slots", "1"))
        processes.append(Process(vigil_env, "scheduler", "scheduler"))

        def tails() -> str:
            return "\n".join(p.tail() for p in processes)

        assert wait_for(lambda: finished(settings, "channel-preview", baseline=True), timeout=FIRST_OUTPUT), tails()
        baseline = finished(settings, "channel-preview", baseline=True)[0]
        assert baseline["ads"] == 17, baseline
        assert wait_for(lambda: finished(settings, "channel-preview", baseline=False), timeout=60), tails()
        recrawl = finished(settings, "channel-preview", baseline=False)[0]
        assert recrawl["new_ads"] == 0 and recrawl["pages"] == 1, recrawl
        time.sleep(1)
        assert not webhook.posts, "the baseline raised alerts"

        post = site.add_post(
            "Just arrived in Leeds: two new girls, discreet, call 07520 659999 before Sunday."
        )
        # Alerts are inert and name the ad by its key (profile:item id), not by its URL.
        key = f"Ad: channel-preview:{post['id']}"
        assert wait_for(lambda: webhook.about(key), timeout=INTERVAL + 40), tails()
        time.sleep(INTERVAL * 2 + 2)  # at least two more re-crawls: they must not alert again
        alerts = webhook.about(key)
        assert len(alerts) == 1 and len(webhook.posts) == 1, [p.body for p in webhook.posts]
        assert "new-in-channel" in alerts[0].body
        newer = [j for j in finished(settings, "channel-preview", baseline=False) if j["new_ads"]]
        assert [j["new_ads"] for j in newer] == [1], newer
        print(f"baseline {baseline['pages']} pages / 17 posts; re-crawls {recrawl['pages']} page; one alert")


def test_json_sources_are_guarded_like_html(vigil_env, tmp_path):
    """robots.txt, politeness delays, the download and record size limits, the item limit and the
    SSRF guard apply to JSON responses and their items as to HTML pages."""
    with_config(
        vigil_env,
        crawl={"download_maxsize": 100_000, "max_body_bytes": 1024, "max_items_per_page": 30},
    )
    with UnseenSite() as site:
        singles = [f"{site.url}v3/bulk?n=1&i={n}" for n in range(3)]
        profile = {
            "id": "json-guarded",
            "source": "json",
            "start_urls": [
                f"{site.url}v3/internal/directory",
                f"{site.url}v3/bulk?n=400&size=400",
                f"{site.url}v3/bulk?n=40&size=1500",
                *singles,
            ],
            "ads": {"items": {"path": "response.listing.entries", "id": "profile.uid", "fields": {"body": "profile.about"}}},
            "allow_private_network": True,
            "politeness": {"download_delay": 1.0, "concurrency": 4, "autothrottle": False, "obey_robots": True},
        }
        result, summary = run_json(vigil_env, write_profile(tmp_path, profile), "--no-publish")
        times = [t for path, t in site.times if path == "/v3/bulk"]
        assert site.hits["/v3/internal/directory"] == 0, "robots.txt was not obeyed for a JSON URL"
    assert result.returncode == 0, result.stderr[-3000:]
    assert summary["errors"] == {"robots_disallowed": 1, "too_large": 1}, summary
    assert summary["skipped"] == {"max_items_per_page": 10, "item_repeated": 3}, summary
    assert sorted(summary["ad_ids"]) == [str(7000 + n) for n in range(30)]
    # The 62 kB response and each of its 30 kept 1.5 kB items, unless one of the single-item
    # responses (concurrency 4) was read first: its short copy of item 7000 is then the one kept.
    assert summary["truncated"] in (30, 31), summary
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(times) == 5 and min(gaps) >= 0.45, gaps  # DOWNLOAD_DELAY 1 s, randomised 0.5-1.5 s
    print(f"JSON politeness: gaps between requests {[round(g, 2) for g in gaps]} s")

    with UnseenSite() as site:
        guarded = {**profile, "start_urls": singles[:1], "allow_private_network": False}
        refused, summary = run_json(vigil_env, write_profile(tmp_path, guarded), "--no-publish")
        assert summary["errors"] == {"ssrf_refused": 1} and site.hits["/v3/bulk"] == 0, summary
