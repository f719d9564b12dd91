"""Headless-browser rendering (scrapy-playwright on Debian's Chromium) for render_js profiles."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from vigil.core.profiles import SiteProfile

BLOCKABLE_RESOURCES = frozenset({"image", "font", "media"})
# Schemes a rendered page may use without the network (data:, blob:, about:) or through the proxy.
BROWSER_SCHEMES = frozenset({"http", "https", "ws", "wss", "data", "blob", "about"})


def abort_predicate(allowed: Iterable[str] = (), via_tor: bool = False) -> Callable[[Any], bool]:
    """The browser's first filter (the proxy is the guard): True = abort this Playwright request.

    Images, fonts and media are aborted unless the profile allows them (never over Tor); over Tor
    the Tor policy's URL checks (v3 onions, no media by extension) apply to every request.
    """
    blocked = BLOCKABLE_RESOURCES - (set() if via_tor else set(allowed))

    def abort(request) -> bool:
        if request.resource_type in blocked:
            return True
        url = request.url
        if url.split(":", 1)[0].lower() not in BROWSER_SCHEMES:
            return True
        if via_tor and url.startswith(("http:", "https:")):
            from crawlers.tor import TorPolicyError, check_browser_url

            try:
                check_browser_url(url)
            except TorPolicyError:
                return True
        return False

    return abort


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
