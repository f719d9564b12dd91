"""Headless-browser rendering (scrapy-playwright on Debian's Chromium) for render_js profiles."""

from __future__ import annotations

from typing import Any

from vigil.core.profiles import SiteProfile

BLOCKED_RESOURCES = frozenset({"image", "font", "media"})


def abort_request(request) -> bool:
    """PLAYWRIGHT_ABORT_REQUEST: images, fonts and media are never needed to read an ad."""
    return request.resource_type in BLOCKED_RESOURCES


def render_meta(profile: SiteProfile, page_type: str) -> dict[str, Any]:
    """Request.meta that makes scrapy-playwright render the page (and wait for wait_for, if given)."""
    if not profile.render_js:
        return {}
    meta: dict[str, Any] = {"playwright": True}
    wait = profile.wait_for
    if wait is not None and wait.pages in ("all", page_type):
        from scrapy_playwright.page import PageMethod

        meta["playwright_page_methods"] = [
            PageMethod("wait_for_selector", wait.css, timeout=wait.timeout * 1000)
        ]
    return meta


class RenderAllRequestsMiddleware:
    """With VIGIL_RENDER_ALL_REQUESTS, every request (robots.txt too) goes through the browser.

    Used when the browser is the only route out (JavaScript over Tor): scrapy-playwright would
    otherwise send non-browser requests through Scrapy's plain HTTP handler.
    """

    def __init__(self, enabled: bool):
        self.enabled = enabled

    @classmethod
    def from_crawler(cls, crawler) -> RenderAllRequestsMiddleware:
        return cls(crawler.settings.getbool("VIGIL_RENDER_ALL_REQUESTS"))

    def process_request(self, request) -> None:
        if self.enabled:
            request.meta.setdefault("playwright", True)
