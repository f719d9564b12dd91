"""The hostile corpus (issue 12) crawled through the real stack: a crawl job on Kafka ->
`vigil worker crawl` -> real Kafka -> `vigil worker enrich` -> real Elasticsearch, with normal ads
interleaved.

Asserted: the crawl job finishes without ``publish_failed``; every normal ad is indexed within 60 s of
the crawl's end (by when every hostile page is published); every hostile ad page that became a
record is indexed (bounded) or dead-lettered with its cause; the gzip and brotli bombs are refused
at the crawl with a counted cause (``too_large``) and the redirect loop is fetched a bounded number
of times; the 50,000-link listing is read once and its record fits; the 40 MB field arrives cut
to ``limits.field_chars``; control and bidi characters are gone from the indexed text; neither
worker exits; both consumer groups' lag returns to zero; no record on any topic exceeds
``kafka.max_message_bytes``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from tests.fixture_site.hostile import HostileSite
from tests.helpers import free_port, wait_for
from tests.integration.test_enrich_worker import Stack, Worker, ad_page
from tests.integration.test_scale_out import Probe, WorkerProcess
from vigil.core.records import CrawlJob, RawPage, doc_id

pytestmark = pytest.mark.integration

GROUP = "g-hostile"


def profile(site: HostileSite) -> dict:
    return {
        "id": "hostile-board",
        "network": "clearnet",
        "start_urls": [site.url],
        "allowed_domains": ["127.0.0.1"],
        "country": "NL",
        "language": "nl",
        "follow": [{"css": "nav a.listing"}],
        "ads": {
            "url_regex": r"/ad/[\w-]+$",
            "id_regex": r"/ad/([\w-]+)$",
            "fields": {"title": {"css": "h1"}, "body": {"css": ".description"}},
        },
        "allow_private_network": True,
        "limits": {"max_pages": 100, "max_depth": 3},
        "politeness": {"download_delay": 0, "concurrency": 4, "obey_robots": True, "autothrottle": False},
    }


def read_all(stack: Stack, topic: str) -> list:
    from vigil.core import kafka

    consumer = kafka.consumer(stack.settings.kafka, None, topic, consumer_timeout_ms=5000)
    try:
        return list(consumer)
    finally:
        consumer.close()


def _metrics(port: int) -> str:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


def test_hostile_pages_are_bounded_or_dead_lettered_and_normal_ads_go_through(vigil_env, tmp_path: Path):
    config = yaml.safe_load(vigil_env.config_path.read_text())
    config["crawl"] = {"download_maxsize": 48 * 1024 * 1024}
    config["jobs"] = {"group_id": f"hostile-crawl-{vigil_env.uid}", "attempts": 1}
    config["profiles_dir"] = str(tmp_path)  # crawl jobs may only name profiles inside it
    vigil_env.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    settings = vigil_env.settings
    topics = settings.kafka.topics
    stack = Stack(settings)
    metrics_port = free_port()
    worker = Worker(
        vigil_env.env, tmp_path / "worker.log", "--group", GROUP, "--batch-size", "5", "--metrics-port", str(metrics_port)
    )
    crawler = WorkerProcess("crawl", vigil_env.env, tmp_path / "crawl-worker.log")
    try:
        # One ordinary page first: the worker has joined its group and loaded its models.
        stack.send([ad_page(0, "Warm-up ad, call +1 702 386 0000.")])
        assert wait_for(lambda: stack.caught_up(GROUP), timeout=120, interval=1.0), worker.log()[-4000:]
        with HostileSite() as site:
            path = tmp_path / "hostile-board.yaml"
            path.write_text(yaml.safe_dump(profile(site), sort_keys=False))
            job = CrawlJob(profile_id="hostile-board", profile_path=str(path), reason="hostile-test")
            started = time.monotonic()
            stack.producer.send(topics.crawl_jobs, key=job.profile_id.encode(), value=job.to_bytes())
            stack.producer.flush()
            statuses: list[dict] = []

            def finished() -> bool:
                statuses[:] = [s for s in stack.read(topics.job_status) if s["job_id"] == job.job_id]
                return any(s["state"] in ("finished", "failed") for s in statuses)

            assert wait_for(finished, timeout=300, interval=1.0), crawler.log()[-4000:]
            crawled_at = time.monotonic()  # every hostile page is published by now
            crawl_seconds = crawled_at - started
            hits = dict(site.hits)
        summary = next(s for s in statuses if s["state"] in ("finished", "failed"))
        ads_alias = settings.es.indices.ads
        normal_keys = {f"hostile-board:{n}" for n in site.normal_ids}

        def normal_indexed() -> bool:
            return normal_keys <= set(stack.docs(ads_alias))

        assert wait_for(normal_indexed, timeout=max(1.0, 60.0 - (time.monotonic() - crawled_at)), interval=1.0), (
            f"normal ads not indexed within 60 s of the last hostile page; log:\n{worker.log()[-4000:]}"
        )
        normal_seconds = time.monotonic() - crawled_at
        assert wait_for(lambda: stack.caught_up(GROUP), timeout=180, interval=1.0), worker.log()[-4000:]
        assert worker.alive(), worker.log()[-4000:]
        assert crawler.alive(), crawler.log()[-4000:]
        probe = Probe(settings)
        try:
            jobs_done = wait_for(lambda: probe.caught_up(config["jobs"]["group_id"], topics.crawl_jobs), timeout=60)
        finally:
            probe.close()
        assert jobs_done, "the crawl worker left its job uncommitted"

        limit = settings.kafka.max_message_bytes
        raw = read_all(stack, settings.kafka.topics.pages_raw)
        letters = read_all(stack, settings.kafka.topics.pages_dlq)
        events = read_all(stack, settings.kafka.topics.ad_events)
        for record in raw + letters + events:
            assert len(record.value or b"") <= limit, f"{record.topic}@{record.offset}: {len(record.value)} bytes"

        ads = stack.docs(ads_alias)
        dead = {(letter.partition, letter.offset): json.loads(letter.value) for letter in letters}
        dead_by_source = {(d["partition"], d["offset"]): d for d in dead.values()}
        hostile_paths = set(site.hostile.values())
        seen_hostile = set()
        listings = []
        for record in raw:
            page = RawPage.from_bytes(record.value)
            if page.url.endswith(site.links_listing):
                listings.append(page)
            if page.url.endswith(site.hostile["field_40mb"]):
                assert max(map(len, page.fields.values())) <= settings.limits.field_chars, "the 40 MB field was not cut"
            if page.page_type != "ad":
                continue
            if page.profile_id != "hostile-board":
                continue
            key = doc_id(f"hostile-board:{page.ad_id}")
            letter = dead_by_source.get((record.partition, record.offset))
            assert key in ads or (letter and letter["error_type"]), f"{page.url}: neither indexed nor dead-lettered"
            path = "/" + page.url.split("/", 3)[3]
            if path in hostile_paths:
                seen_hostile.add(path)
        produced = ("emails", "quotes", "field_40mb", "nested", "encodings", "mixed_encodings", "controls", "slow_drip")
        for name in (*produced, "changing"):
            assert site.hostile[name] in seen_hostile, f"hostile page {name} produced no record"
        assert hits[site.links_listing] == 1 and len(listings) == 1, "the 50,000-link listing was not read once"

        emails_ad = ads[doc_id("hostile-board:h-emails")]
        assert emails_ad["analysis_truncated"] and len(emails_ad["emails"]) <= settings.limits.entity_values_per_type
        quotes_ad = ads[doc_id("hostile-board:h-quotes")]
        assert quotes_ad["emails"] == ["lola@example.com"]
        assert len([e for e in quotes_ad["entities"] if e["type"] == "email"]) <= settings.limits.entity_spans_per_value
        controls_text = ads[doc_id("hostile-board:h-controls")]["text"]
        assert not set(controls_text) & set("\x00\x01\x07\x1b\u202e\u202c\u2066\u2069\u200f\u200b\ufeff"), "controls kept"
        assert "+31612345678" in ads[doc_id("hostile-board:h-mixed")]["phones"]
        metrics = _metrics(metrics_port)
        assert 'vigil_limits_hit_total{limit="entity_values_per_type"}' in metrics
        print(
            f"crawl {crawl_seconds:.1f} s, normal ads indexed {normal_seconds:.1f} s after it; {len(raw)} records, "
            f"{len(letters)} dead letters, {len(ads)} ads; crawl errors {summary['errors']}"
        )
        assert worker.stop() == 0 and crawler.stop() == 0
    finally:
        if worker.alive():
            worker.kill()
        if crawler.alive():
            crawler.kill()
        print(worker.log()[-3000:])
        print(crawler.log()[-3000:])
        stack.close()
