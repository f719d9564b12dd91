"""The profile workbench: fetch one page with a profile and show what it extracts, publishing nothing.

``vigil profiles test PROFILE --url URL`` calls ``try_profile``. The page goes through the real
spider and download path (SSRF guard, robots.txt, politeness, Tor routing, size limits); links the
crawl would follow are listed, not fetched, except the first few item details (modals filled from
JSON), so that their fields show too.
"""

from __future__ import annotations

from typing import Any

from vigil.core.config import Settings
from vigil.core.profiles import SiteProfile

MAX_SHOWN = 200


def _record(record) -> dict[str, Any]:
    return {
        "ad_id": record.ad_id,
        "url": record.url,
        "status": record.status,
        "content_type": record.content_type,
        "fields": record.fields,
        "body_bytes": record.body_bytes,
    }


def try_profile(profile: SiteProfile, settings: Settings, url: str | None = None) -> dict[str, Any]:
    """What ``profile`` reads from ``url`` (default: its first start URL): the page, its items or ad
    links, their fields, the next pages, and every request the guard or the site refused."""
    from scrapy import signals

    from crawlers.runner import run_crawl

    target = url or (profile.start_urls or profile.sitemap_urls)[0]
    single = profile.model_copy(
        update={"start_urls": [target], "sitemap_urls": [], "allowed_domains": profile.domains}
    )
    records: list = []
    probe: dict[str, list] = {}

    def scraped(item, **_: Any) -> None:
        records.append(item)

    def closed(spider, **_: Any) -> None:
        probe.update(spider.probe or {})

    def observe(crawler) -> None:
        crawler.signals.connect(scraped, signal=signals.item_scraped, weak=False)
        crawler.signals.connect(closed, signal=signals.spider_closed, weak=False)

    summary = run_crawl(
        single,
        settings,
        job_id="workbench",
        publish=False,
        probe=True,
        observe=observe,
        overrides={"LOG_LEVEL": "WARNING"},
    )
    pages = [r for r in records if r.item_of is None]
    items = [r for r in records if r.item_of is not None]
    return {
        "profile_id": profile.id,
        "source": profile.source,
        "url": target,
        "ok": bool(pages),
        "pages": [{"page_type": r.page_type, **_record(r)} for r in pages],
        "items": [_record(r) for r in items[:MAX_SHOWN]],
        "item_count": len(items),
        "ad_links": probe.get("ad_links", [])[:MAX_SHOWN],
        "next": probe.get("next", [])[:MAX_SHOWN],
        "details": probe.get("details", []),
        "refused": probe.get("refused", []),
        "errors": summary.errors,
        "skipped": summary.skipped,
        "message": summary.message,
    }
