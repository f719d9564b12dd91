"""A profile's politeness and limits, as the Scrapy settings that enforce them."""

from __future__ import annotations

from typing import Any

from vigil.core.config import Settings
from vigil.core.profiles import SiteProfile


def profile_settings(profile: SiteProfile, settings: Settings, max_pages: int | None = None) -> dict[str, Any]:
    polite = profile.politeness
    limits = profile.limits
    values: dict[str, Any] = {
        "ROBOTSTXT_OBEY": polite.obey_robots,
        "DOWNLOAD_DELAY": polite.download_delay,
        "CONCURRENT_REQUESTS_PER_DOMAIN": polite.concurrency,
        "CONCURRENT_REQUESTS": max(16, polite.concurrency),
        "AUTOTHROTTLE_ENABLED": polite.autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(polite.download_delay, 0.1),
        "AUTOTHROTTLE_MAX_DELAY": max(10.0, polite.download_delay * 10),
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(polite.concurrency),
        "DOWNLOAD_TIMEOUT": polite.timeout,
        "RETRY_TIMES": polite.retries,
        "DEPTH_LIMIT": max(limits.max_depth, 1),  # the spider enforces 0 itself (0 = no limit to Scrapy)
        "DOWNLOAD_MAXSIZE": settings.crawl.download_maxsize,
        "DOWNLOAD_WARNSIZE": min(settings.crawl.download_maxsize, 8 * 1024 * 1024),
        "VIGIL_MAX_PAGES": max_pages or limits.max_pages,
        "VIGIL_MAX_DEPTH": limits.max_depth,
        "VIGIL_ALLOW_PRIVATE_NETWORK": profile.allow_private_network,
        "VIGIL_DENY_NETWORKS": list(settings.crawl.deny_networks),
    }
    if polite.user_agent:
        values["USER_AGENT"] = polite.user_agent
    if limits.max_seconds:
        values["CLOSESPIDER_TIMEOUT"] = limits.max_seconds
    return values
