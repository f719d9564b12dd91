"""Crawling the fixture board into the real Kafka broker, through the `vigil crawl` CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.fixture_site import FixtureSite
from tests.helpers import free_port
from vigil.core.records import RawPage

pytestmark = pytest.mark.integration


def board_profile(site: FixtureSite, **changes) -> dict:
    profile = {
        "id": "fixture-board",
        "network": "clearnet",
        "start_urls": [site.url],
        # 127.0.0.2 is on the allowed list so that the SSRF guard, not the offsite filter, refuses it.
        "allowed_domains": ["127.0.0.1", "127.0.0.2"],
        "country": "GB",
        "language": "en",
        "follow": [{"css": "nav a.category"}, {"css": "a.next"}, {"css": "footer a"}],
        "ads": {
            "url_regex": r"/ad/\d+$",
            "id_regex": r"/ad/(\d+)$",
            "fields": {
                "title": {"css": "h1"},
                "body": {"css": ".description"},
                "price": {"css": ".price"},
                "location": {"css": ".location"},
                "posted": {"css": "time", "attr": "datetime"},
            },
        },
        "allow_private_network": True,
        "limits": {"max_pages": 200, "max_depth": 4},
        "politeness": {"download_delay": 0, "concurrency": 8, "obey_robots": True, "autothrottle": False},
    }
    profile.update(changes)
    return profile


def write_profile(directory: Path, profile: dict) -> Path:
    path = directory / f"{profile['id']}.yaml"
    path.write_text(yaml.safe_dump(profile, sort_keys=False), encoding="utf-8")
    return path


def with_config(vigil_env, **sections) -> None:
    """Merge sections into the test's config file (e.g. crawl.deny_networks)."""
    config = yaml.safe_load(vigil_env.config_path.read_text()) or {}
    for key, value in sections.items():
        config.setdefault(key, {}).update(value)
    vigil_env.config_path.write_text(yaml.safe_dump(config, sort_keys=False))


def read_pages(settings, expected: int, timeout_ms: int = 5000) -> list[tuple[bytes, RawPage]]:
    from vigil.core.kafka import consumer

    records = []
    client = consumer(settings.kafka, None, settings.kafka.topics.pages_raw, consumer_timeout_ms=timeout_ms)
    try:
        for message in client:
            records.append((message.key, RawPage.from_bytes(message.value)))
            if len(records) >= expected + 5:
                break
    finally:
        client.close()
    return records


def run_json(vigil_env, *args, timeout: float = 180):
    result = vigil_env.run("crawl", *args, "--json", timeout=timeout)
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one JSON line, got stdout={result.stdout!r} stderr={result.stderr[-3000:]}"
    return result, json.loads(lines[0])


def test_crawl_fixture_board_into_kafka(vigil_env, tmp_path):
    with_config(vigil_env, crawl={"deny_networks": ["127.0.0.2/32"]})
    with FixtureSite() as site:
        profile = write_profile(tmp_path, board_profile(site))
        result, summary = run_json(vigil_env, profile, "--job-id", "job-fixture-1")
        assert site.hits("/private/moderation") == 0, "robots.txt-disallowed page was fetched"
        assert site.hits("/flaky") == 2, "the 503 should be retried once and recover"
        ads = [a for a in site.ads if not a.get("js_only")]

    assert result.returncode == 0, result.stderr[-3000:]
    assert summary["ok"] is True
    base = site.url.rstrip("/")
    ad_urls = {f"{base}/ad/{a['id']}" for a in ads}
    categories = {a["category"] for a in ads} - {"archive"}
    listing_urls = {f"{base}/", f"{base}/category/archive", f"{base}/flaky", f"{base}/huge", f"{base}/category/js"}
    for slug in categories:
        count = sum(1 for a in ads if a["category"] == slug)
        listing_urls.add(f"{base}/category/{slug}")
        listing_urls.update(f"{base}/category/{slug}?page={n}" for n in range(2, (count + 4) // 5 + 1))

    records = read_pages(vigil_env.settings, len(ad_urls) + len(listing_urls))
    pages = {page.canonical_url: page for _key, page in records}
    assert len(records) == len(pages), "a page was published twice"
    assert {key.decode() for key, _ in records} == set(pages), "the record key is the canonical URL"
    assert {u for u, p in pages.items() if p.page_type == "ad"} == ad_urls
    assert {u for u, p in pages.items() if p.page_type == "listing"} == listing_urls
    assert sorted(summary["ad_ids"], key=int) == sorted((str(a["id"]) for a in ads), key=int)
    assert summary["pages"] == len(pages) + 1  # + the PDF, fetched but not published
    assert summary["published"] == len(pages)
    assert summary["errors"] == {
        "http_404": 1,
        "robots_disallowed": 1,
        "skipped_binary": 1,
        "ssrf_refused": 1,
        "too_large": 1,
    }

    for page in pages.values():
        assert page.job_id == "job-fixture-1" and page.profile_id == "fixture-board"
        assert page.network == "clearnet" and page.render_mode == "http"
        assert page.status == 200 and page.content_type == "text/html"
        assert page.country == "GB" and page.language_hint == "en"
        assert page.truncated == (page.canonical_url == f"{base}/huge")
    huge = pages[f"{base}/huge"]
    assert huge.body_bytes > 20 * 1024 * 1024 and len(huge.body.encode()) <= vigil_env.settings.crawl.max_body_bytes

    moved = pages[f"{base}/category/archive"]
    assert moved.url == f"{base}/old-board" and moved.final_url == f"{base}/category/archive"
    assert moved.referrer == f"{base}/"

    jobs_ad = pages[f"{base}/ad/203"]
    assert jobs_ad.ad_id == "203" and jobs_ad.depth == 2
    assert jobs_ad.fields["title"].startswith("Hostesses and dancers wanted in Dubai")
    assert "Processing fee of $500" in jobs_ad.fields["body"]
    assert jobs_ad.fields["posted"] == "2025-11-19T14:00:00Z" and jobs_ad.fields["location"] == "Dubai"
    polish = pages[f"{base}/ad/109"]
    assert polish.fields["location"] == "Warszawa, Śródmieście" and not polish.decode_errors
    assert "Cześć" in polish.body
    broken = pages[f"{base}/ad/110"]
    assert broken.decode_errors and "\ufffd" in broken.body


def test_incremental_crawl_stops_at_known_ads(vigil_env, tmp_path):
    with FixtureSite(real_ads=False) as site:
        profile = write_profile(
            tmp_path,
            board_profile(site, start_urls=[f"{site.url}category/escorts"], follow=[{"css": "a.next"}]),
        )
        known = tmp_path / "known.txt"
        known.write_text("\n".join(str(a["id"]) for a in site.ads) + "\n")
        new = site.add_ad(title="New in town - Mia 19", body="Call 0612345678", category="escorts")
        result, summary = run_json(vigil_env, profile, "--incremental", "--known-ads", known)
    assert result.returncode == 0, result.stderr[-3000:]
    # Page 1 holds the new ad and four known ones; page 2 holds only known ads: paging stops there.
    assert summary["ad_ids"] == [str(new["id"])]
    assert summary["pages"] == 3


def test_delivery_failures_fail_the_crawl(vigil_env, tmp_path):
    from kafka.admin import NewTopic

    from vigil.core.kafka import admin

    topic = f"test.{vigil_env.uid}.tiny"
    client = admin(vigil_env.settings.kafka)
    try:
        client.create_topics([NewTopic(topic, 1, 1, topic_configs={"max.message.bytes": "200"})])
    finally:
        client.close()
    with_config(vigil_env, kafka={"topics": {**vigil_env.settings.kafka.topics.model_dump(), "pages_raw": topic}})
    with FixtureSite(real_ads=False) as site:
        profile = write_profile(tmp_path, board_profile(site, follow=[{"css": "nav a.category"}]))
        result, summary = run_json(vigil_env, profile, "--max-pages", "5")
    assert result.returncode == 1
    assert summary["ok"] is False and summary["errors"].get("publish_failed", 0) >= 1
    assert "was not delivered" in summary["message"] and "MessageSizeTooLarge" in summary["message"]


def test_broker_unreachable_fails_loudly(tmp_path, repo_root):
    import os
    import subprocess
    import sys

    with FixtureSite(real_ads=False) as site:
        profile = write_profile(tmp_path, board_profile(site))
        env = {**os.environ, "VIGIL_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}", "VIGIL_HOME": str(tmp_path)}
        env.pop("VIGIL_CONFIG", None)
        result = subprocess.run(
            [str(Path(sys.executable).parent / "vigil"), "crawl", str(profile), "--json"],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
        )
        assert site.hits("/") == 0, "nothing is fetched when records cannot be published"
    assert result.returncode == 1
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["ok"] is False and "unreachable" in summary["message"]
    assert "unreachable" in result.stderr


@pytest.mark.browser
def test_javascript_listing_is_rendered(vigil_env, tmp_path):
    with FixtureSite(real_ads=False) as site:
        js_ids = sorted(str(a["id"]) for a in site.ads if a.get("js_only"))
        profile = write_profile(
            tmp_path,
            board_profile(
                site,
                start_urls=[f"{site.url}category/js"],
                follow=[],
                render_js=True,
                wait_for={"css": "a.ad-link", "timeout": 10},
                limits={"max_pages": 10, "max_depth": 1},
            ),
        )
        result, summary = run_json(vigil_env, profile, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(summary["ad_ids"]) == js_ids
    pages = {p.canonical_url: p for _k, p in read_pages(vigil_env.settings, 3)}
    assert {p.ad_id for p in pages.values() if p.page_type == "ad"} == set(js_ids)
    assert all(p.render_mode == "playwright" for p in pages.values())
    assert pages[f"{site.url}ad/107"].fields["location"] == "Milano, Stazione Centrale"


def test_sitemap_start_from_robots(vigil_env, tmp_path):
    with FixtureSite(real_ads=False) as site:
        expected = sorted(str(a["id"]) for a in site.ads if not a.get("js_only"))
        profile = write_profile(
            tmp_path, board_profile(site, start_urls=[], sitemap_urls=[f"{site.url}robots.txt"], follow=[])
        )
        result, summary = run_json(vigil_env, profile, "--no-publish")
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(summary["ad_ids"]) == expected and summary["published"] == 0
