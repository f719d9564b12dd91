"""Headless-browser rendering (scrapy-playwright on Debian's Chromium) for render_js profiles."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from vigil.core.config import Settings
from vigil.core.profiles import SiteProfile

logger = logging.getLogger(__name__)

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


def render_meta(profile: SiteProfile, page_type: str, screenshot_height: int | None = None) -> dict[str, Any]:
    """Request.meta that makes scrapy-playwright render the page (and wait for wait_for, if given),
    then take a full-page screenshot at most ``screenshot_height`` pixels high (None: none)."""
    if not profile.render_js:
        return {}
    from scrapy_playwright.page import PageMethod

    meta: dict[str, Any] = {"playwright": True}
    methods = []
    wait = profile.wait_for
    if wait is not None and wait.pages in ("all", page_type):
        methods.append(PageMethod("wait_for_selector", wait.css, timeout=wait.timeout * 1000))
    if screenshot_height:
        methods.append(PageMethod(full_page_png, screenshot_height))
    if methods:
        meta["playwright_page_methods"] = methods
    return meta


def screenshot_height(profile: SiteProfile, settings: Settings, scrapy_settings) -> int | None:
    """How high a screenshot of this crawl's rendered pages may be; None when none are taken:
    capture or screenshots off, nothing published, not rendered, or over Tor without JavaScript."""
    evidence = settings.evidence
    if not (evidence.capture and evidence.screenshots and profile.render_js):
        return None
    if not scrapy_settings.getbool("VIGIL_PUBLISH_ENABLED", True):
        return None
    if profile.network == "tor" and not settings.tor.allow_js:
        return None
    return evidence.screenshot_max_height


async def full_page_png(page, max_height: int) -> bytes | None:
    """The rendered page as PNG, full length up to ``max_height`` pixels; None when it fails (a
    missing screenshot must not lose the page)."""
    try:
        height = await page.evaluate("() => document.documentElement.scrollHeight")
        options: dict[str, Any] = {"full_page": True, "type": "png", "animations": "disabled"}
        if int(height or 0) > max_height:
            width = (page.viewport_size or {}).get("width", 1280)
            options["clip"] = {"x": 0, "y": 0, "width": width, "height": max_height}
        return await page.screenshot(**options)
    except Exception as exc:  # noqa: BLE001 - Playwright raises its own error types
        logger.warning("screenshot of %s failed: %s", page.url, exc)
        return None


def take_screenshot(request) -> bytes | None:
    """The PNG ``full_page_png`` left in the request's page methods (and no longer kept there)."""
    for method in request.meta.get("playwright_page_methods") or ():
        if getattr(method, "method", None) is full_page_png:
            png, method.result = getattr(method, "result", None), None
            return png
    return None


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
