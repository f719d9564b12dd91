"""Fresh circuits for a profile that keeps failing over Tor: NEWNYM, new isolation, retry.

A failure is a connection error (unreachable onion, circuit timeout, ...) or a block page (status
in ``VIGIL_TOR_BLOCK_STATUSES``, or a body containing one of ``VIGIL_TOR_BLOCK_MARKERS``). After
``VIGIL_TOR_NEWNYM_AFTER_FAILURES`` (``tor.newnym_after_failures``) consecutive failures for a profile the middleware signals NEWNYM
through stem (waiting out tor's rate limit), moves the profile to a new SOCKS isolation
generation (so even pooled keep-alive connections are not reused) and retries the request, at
most ``VIGIL_TOR_MAX_ROTATIONS`` times per request. Below the threshold, Scrapy's RetryMiddleware
(priority 550, after this one at 560) retries as usual. A success resets the count.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import TYPE_CHECKING

import stem
from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from crawlers.tor import isolation_for, profile_of, tor_instance
from vigil.core import metrics
from vigil.core.tor.control import ControllerCache, TorControlError

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)

DEFAULT_BLOCK_STATUSES = (403, 429, 503)


class TorRotationMiddleware:
    """Listed in the project's middlewares; NotConfigured (so absent) on clear-net crawls."""

    def __init__(self, crawler: Crawler):
        settings = crawler.settings
        self.crawler = crawler
        self.instance = tor_instance(crawler)
        self.isolation = isolation_for(crawler)
        self.threshold = max(1, settings.getint("VIGIL_TOR_NEWNYM_AFTER_FAILURES", 3))
        self.max_rotations = settings.getint("VIGIL_TOR_MAX_ROTATIONS", 2)
        self.block_statuses = {int(s) for s in settings.getlist("VIGIL_TOR_BLOCK_STATUSES", DEFAULT_BLOCK_STATUSES)}
        self.block_markers = [m.lower().encode() for m in settings.getlist("VIGIL_TOR_BLOCK_MARKERS", [])]
        self.failures: dict[str, int] = defaultdict(int)
        self.controllers = ControllerCache()
        crawler.signals.connect(self._closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> TorRotationMiddleware:
        return cls(crawler)

    @property
    def newnyms(self) -> int:
        return self.controllers.newnyms

    def _blocked(self, response: Response) -> str | None:
        if response.status in self.block_statuses:
            return f"status {response.status}"
        if self.block_markers:
            body = response.body[:65536].lower()
            for marker in self.block_markers:
                if marker in body:
                    return f"block marker {marker.decode()!r}"
        return None

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        profile = profile_of(self.crawler, request)
        reason = self._blocked(response)
        if reason is None:
            self.failures[profile] = 0
            return response
        retry = await self._failed(request, profile, reason)
        return retry or response

    async def process_exception(self, request: Request, exception: Exception) -> Request | None:
        if isinstance(exception, IgnoreRequest):
            return None
        profile = profile_of(self.crawler, request)
        return await self._failed(request, profile, f"{type(exception).__name__}: {exception}")

    async def _failed(self, request: Request, profile: str, reason: str) -> Request | None:
        metrics.TOR_FAILURES.labels(profile=profile).inc()
        self.crawler.stats.inc_value("tor/failures")
        self.failures[profile] += 1
        count = self.failures[profile]
        logger.info("Tor failure %d/%d for profile %s: %s (%s)", count, self.threshold, profile, reason, request.url)
        if count < self.threshold:
            return None
        self.failures[profile] = 0
        await self._rotate(profile)
        rotations = request.meta.get("tor_rotations", 0)
        if rotations >= self.max_rotations:
            return None
        retry = request.replace(dont_filter=True)
        retry.meta["tor_rotations"] = rotations + 1
        retry.meta.pop("retry_times", None)
        return retry

    async def _rotate(self, profile: str) -> None:
        generation = self.isolation.rotate(profile)
        try:
            waited = await maybe_deferred_to_future(
                deferToThread(self.controllers.newnym, self.instance, profile=profile)
            )
        except (TorControlError, stem.ControllerError, OSError) as exc:
            logger.warning("NEWNYM for profile %s failed (%s); fresh isolation only", profile, exc)
            return
        self.crawler.stats.inc_value("tor/newnym")
        logger.info(
            "NEWNYM sent for profile %s after %d failures (waited %.1fs); isolation generation %d",
            profile, self.threshold, waited, generation,
        )

    def _closed(self, spider) -> None:
        self.controllers.close()
