"""SSRF guard: a downloader middleware that refuses requests to addresses a crawler must not reach.

The decision itself lives in vigil.core.addresses (the image fetcher takes the same one); it is
taken on the addresses the host name resolves to, and the vetted address is
pinned in Scrapy's DNS cache so the connection goes to the address that was checked.
Hosts routed through Tor are never resolved locally (that would leak the name to the local DNS).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached

from vigil.core.addresses import ALLOWED_SCHEMES, literal, parse_networks, vet

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class RefusedAddress(IgnoreRequest):
    """The request's host is, or resolves to, an address the guard refuses."""


class SSRFGuardMiddleware:
    """Refuses non-http(s) schemes and refused addresses; counts each refusal in the stats."""

    def __init__(self, crawler: Crawler):
        settings = crawler.settings
        self.stats = crawler.stats
        self.allow_private = settings.getbool("VIGIL_ALLOW_PRIVATE_NETWORK")
        self.deny = parse_networks(settings.getlist("VIGIL_DENY_NETWORKS"))
        self.resolve_locally = settings.getbool("VIGIL_RESOLVE_LOCALLY", True)
        self.pin = settings.getbool("DNSCACHE_ENABLED") and settings.get("TWISTED_DNS_RESOLVER", "").endswith(
            "CachingThreadedResolver"
        )
        self._decided: dict[str, str | None] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SSRFGuardMiddleware:
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        parts = urlparse_cached(request)
        if parts.scheme not in ALLOWED_SCHEMES:
            self._refuse(request, f"scheme {parts.scheme!r} is not http(s)")
        host = (parts.hostname or "").lower()
        if not host:
            self._refuse(request, "URL has no host")
        if host not in self._decided:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            self._decided[host] = await self._decide(host, port)
        reason = self._decided[host]
        if reason:
            self._refuse(request, reason)

    async def _decide(self, host: str, port: int) -> str | None:
        """vigil.core.addresses decides; names routed through Tor are not resolved here at all."""
        if not self.resolve_locally and literal(host) is None:
            return None
        from twisted.internet import threads
        from twisted.internet.error import DNSLookupError

        try:
            vetted = await maybe_deferred_to_future(
                threads.deferToThread(vet, host, port, allow_private=self.allow_private, deny=self.deny)
            )
        except OSError as exc:
            raise DNSLookupError(f"cannot resolve {host} ({exc})") from None
        ipv4 = [a for a in vetted.addresses if a.version == 4]
        if vetted.reason is None and self.pin and ipv4:
            from scrapy.resolver import dnscache

            dnscache[host] = str(ipv4[0])
        return vetted.reason

    def _refuse(self, request: Request, reason: str) -> None:
        self.stats.inc_value("vigil/ssrf_refused")
        logger.warning("SSRF guard refused %s: %s", request.url, reason)
        raise RefusedAddress(f"refused {request.url}: {reason}")
