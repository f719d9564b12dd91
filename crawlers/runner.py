"""Run one crawl of one profile in this process and summarise it (used by ``vigil crawl`` and the bench).

Twisted's reactor runs once per process: one ``run_crawl`` per process.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from vigil.core.config import Settings
from vigil.core.profiles import SiteProfile, job_profile
from vigil.core.records import CrawlJob, CrawlSummary

PROGRESS_INTERVAL = 0.5


def _prefixed(stats: dict[str, Any], prefix: str) -> dict[str, int]:
    return {k.removeprefix(prefix): int(v) for k, v in sorted(stats.items()) if k.startswith(prefix)}


def summarise(job_id: str, profile_id: str, stats: dict[str, Any], spider, reason: str, failure: str) -> CrawlSummary:
    publish_failures = _prefixed(stats, "vigil/publish_failed/")
    summary = CrawlSummary(
        job_id=job_id,
        profile_id=profile_id,
        pages=getattr(spider, "pages", 0),
        ads=len(getattr(spider, "ad_ids", [])),
        ad_ids=list(getattr(spider, "ad_ids", [])),
        published=int(stats.get("vigil/published", 0)),
        errors=_prefixed(stats, "vigil/errors/"),
        skipped=_prefixed(stats, "vigil/skipped/"),
        publish_failures=publish_failures,
        finish_reason=reason,
        truncated=int(stats.get("vigil/truncated", 0)),
        browser_refused=int(stats.get("vigil/browser_refused", 0)),
    )
    if publish_failures:
        summary.errors["publish_failed"] = sum(publish_failures.values())
    summary.message = failure or str(stats.get("vigil/publish_error", ""))
    summary.ok = not failure and not publish_failures and reason not in ("", "publish_failed", "shutdown")
    return summary


def scrapy_settings(settings: Settings, overrides: dict[str, Any] | None = None):
    from scrapy.settings import Settings as ScrapySettings

    values = ScrapySettings()
    values.setmodule("crawlers.settings", priority="project")
    values.set("VIGIL_SETTINGS", settings, priority="cmdline")
    values.set("LOG_LEVEL", settings.log_level, priority="cmdline")
    for key, value in (overrides or {}).items():
        values.set(key, value, priority="cmdline")
    return values


def load_profile_for_crawl(ref: str | Path, settings: Settings) -> SiteProfile:
    """The profile a crawl names, checked as far as it can be before fetching anything: its file,
    its route (Tor or surface), its headers and cookies. Raises ProfileError or RoutingError."""
    from crawlers.routing import route
    from vigil.core.profiles import find_profile

    profile = find_profile(ref, settings.profiles_dir)
    route(profile, settings)
    profile.resolved_headers()
    profile.resolved_cookies()
    return profile


def crawl_job(job: CrawlJob, settings: Settings, known: Collection[str] = ()) -> CrawlSummary:
    """Run one crawl job in this process (once per process: Twisted's reactor) and summarise it."""
    # A job arrives over Kafka: it may only name a profile file inside profiles_dir.
    ref = job_profile(job.profile_id, job.profile_path, settings.profiles_dir)
    return run_crawl(
        load_profile_for_crawl(ref, settings),
        settings,
        job_id=job.job_id,
        reason=job.reason,
        max_pages=job.max_pages,
        incremental=job.incremental,
        known_ads=set(known) if job.incremental else None,
        baseline=job.baseline,
    )


def run_crawl(
    profile: SiteProfile,
    settings: Settings,
    *,
    job_id: str,
    reason: str = "manual",
    max_pages: int | None = None,
    incremental: bool = False,
    known_ads: Path | Collection[str] | None = None,
    baseline: bool = False,
    publish: bool = True,
    overrides: dict[str, Any] | None = None,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    probe: bool = False,
    observe: Callable[[Any], None] | None = None,
) -> CrawlSummary:
    """Crawl ``profile`` once. ``probe`` lists links instead of following them (the profile
    workbench); ``observe(crawler)`` may connect to the crawler's signals before it starts."""
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    from crawlers.spiders.site import SiteSpider

    values = scrapy_settings(settings, {"VIGIL_PUBLISH_ENABLED": publish, **(overrides or {})})
    process = CrawlerProcess(values)
    crawler = process.create_crawler(SiteSpider)
    if observe is not None:
        observe(crawler)
    outcome: dict[str, Any] = {"reason": "", "failure": "", "stats": {}}
    started = time.monotonic()

    def progress() -> None:
        if on_progress is None or crawler.spider is None:
            return
        stats = crawler.stats.get_stats()
        on_progress(
            {
                "pages": crawler.spider.pages,
                "ads": len(crawler.spider.ad_ids),
                "published": int(stats.get("vigil/published", 0)),
                "errors": _prefixed(stats, "vigil/errors/"),
                "seconds": time.monotonic() - started,
            }
        )

    ticker = None

    crawl_started = started

    def engine_started() -> None:
        nonlocal ticker, crawl_started
        crawl_started = time.monotonic()
        from twisted.internet import task

        ticker = task.LoopingCall(progress)
        ticker.start(PROGRESS_INTERVAL, now=True)

    def spider_closed(spider, reason: str) -> None:
        if ticker is not None and ticker.running:
            ticker.stop()
        publisher = _publisher(crawler)
        if publisher is not None:
            publisher.sync_stats()
        outcome["reason"] = reason
        outcome["seconds"] = time.monotonic() - crawl_started
        outcome["stats"] = dict(crawler.stats.get_stats())

    crawler.signals.connect(engine_started, signal=signals.engine_started)
    crawler.signals.connect(spider_closed, signal=signals.spider_closed)

    def failed(failure) -> None:
        outcome["failure"] = f"{type(failure.value).__name__}: {failure.value}" if failure.value else str(failure)

    deferred = process.crawl(
        crawler,
        profile=profile,
        job_id=job_id,
        reason=reason,
        max_pages=max_pages,
        incremental=incremental,
        known_ads=known_ads,
        baseline=baseline,
        probe=probe,
    )
    deferred.addErrback(failed)
    process.start()
    if not outcome["stats"] and crawler.stats is not None:
        outcome["stats"] = dict(crawler.stats.get_stats())
    if outcome["reason"] == "" and not outcome["failure"]:
        outcome["failure"] = "the crawl did not run to its end"
    summary = summarise(job_id, profile.id, outcome["stats"], crawler.spider, outcome["reason"], outcome["failure"])
    summary.seconds = round(outcome.get("seconds") or time.monotonic() - started, 3)
    broker = outcome["stats"].get("vigil/broker_unreachable")
    if broker and not summary.message:
        summary.message = f"Kafka unreachable: {broker}"
        summary.ok = False
    return summary


def _publisher(crawler):
    from crawlers.publishing import KafkaPublisher

    scraper = getattr(crawler.engine, "scraper", None) if crawler.engine else None
    pipelines = getattr(getattr(scraper, "itemproc", None), "middlewares", ())
    return next((p for p in pipelines if isinstance(p, KafkaPublisher)), None)
