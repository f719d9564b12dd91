"""SSRF guard: a downloader middleware that refuses requests to addresses a crawler must not reach.

The decision itself is vigil.core.addresses' (the image fetcher takes the same one); the vetted
address is pinned for the whole crawl so every connection goes to the address that was checked (no DNS
rebinding between the check and the connection, no eviction of pins). One ``AddressGuard`` per
crawl takes these decisions for Scrapy's HTTP path (the middleware below) and for the browser's
(``crawlers.browser_proxy``), so both paths refuse and pin alike.
Hosts routed through Tor are never resolved locally (that would leak the name to the local DNS).
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached

from vigil.core.addresses import ALLOWED_SCHEMES, IPAddress, Network, literal, parse_networks, vet

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class RefusedAddress(IgnoreRequest):
    """The request's host is, or resolves to, an address the guard refuses."""


@dataclass(frozen=True)
class Decision:
    """A host's verdict for this crawl: why it is refused, or the address connections must use."""

    reason: str | None
    address: IPAddress | None = None  # None: refused, or not resolved here (Tor resolves it)


class AddressGuard:
    """One crawl's SSRF decisions and DNS pins, shared by Scrapy's HTTP path and the browser's.

    Each host is resolved once; every address it resolves to is checked; the first allowed address
    (IPv4 preferred) is pinned for the rest of the crawl and is the only one connected to. Pins are
    never evicted: the number of distinct hosts per crawl is bounded instead (``max_hosts``), and a
    host past the bound is refused. Thread-safe (Twisted's thread pool and the browser proxy's
    executor both call it).
    """

    def __init__(
        self,
        *,
        allow_private: bool = False,
        deny: Iterable[Network] = (),
        resolve_locally: bool = True,
        max_hosts: int = 50_000,
    ):
        self.allow_private = allow_private
        self.deny = list(deny)
        self.resolve_locally = resolve_locally
        self.max_hosts = max_hosts
        self._decided: dict[str, Decision] = {}
        self._resolving: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def known(self, host: str) -> Decision | None:
        return self._decided.get(host.lower())

    def decide(self, host: str, port: int) -> Decision:
        """The verdict for host (blocking on DNS the first time: call it in a thread).

        OSError when the name does not resolve (not remembered: a later try may succeed).
        """
        host = host.lower()
        decided = self._decided.get(host)
        if decided is not None:
            return decided
        with self._lock:
            if len(self._decided) >= self.max_hosts:
                return Decision(f"more than crawl.max_hosts ({self.max_hosts}) hosts in one crawl")
            host_lock = self._resolving.setdefault(host, threading.Lock())
        # Requests racing for a new host (a page's script, image and iframe at once) wait for the
        # one resolution instead of each resolving it: one lookup, one pin.
        with host_lock:
            decided = self._decided.get(host)
            if decided is None:
                decided = self._decide(host, port)
                with self._lock:
                    self._decided[host] = decided
                    self._resolving.pop(host, None)
            return decided

    def _decide(self, host: str, port: int) -> Decision:
        if not self.resolve_locally and literal(host) is None:
            return Decision(None)
        vetted = vet(host, port, allow_private=self.allow_private, deny=self.deny)
        if vetted.reason:
            return Decision(vetted.reason)
        ipv4 = [a for a in vetted.addresses if a.version == 4]
        return Decision(None, (ipv4 or vetted.addresses)[0])


_guards: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def guard_for(crawler: Crawler) -> AddressGuard:
    """The crawl's one guard (built from its settings on first use), shared by every path out."""
    guard = _guards.get(crawler)
    if guard is None:
        settings = crawler.settings
        guard = _guards[crawler] = AddressGuard(
            allow_private=settings.getbool("VIGIL_ALLOW_PRIVATE_NETWORK"),
            deny=parse_networks(settings.getlist("VIGIL_DENY_NETWORKS")),
            resolve_locally=settings.getbool("VIGIL_RESOLVE_LOCALLY", True),
            max_hosts=settings.getint("VIGIL_MAX_HOSTS", 50_000),
        )
    return guard


class SSRFGuardMiddleware:
    """Refuses non-http(s) schemes and refused addresses; counts each refusal in the stats."""

    def __init__(self, crawler: Crawler):
        settings = crawler.settings
        self.stats = crawler.stats
        self.guard = guard_for(crawler)
        self.pin = settings.getbool("DNSCACHE_ENABLED") and settings.get("TWISTED_DNS_RESOLVER", "").endswith(
            "CachingThreadedResolver"
        )

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
        decision = self.guard.known(host)
        if decision is None:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            decision = await self._decide(host, port)
        if decision.reason:
            self._refuse(request, decision.reason)
        if self.pin and decision.address is not None and literal(host) is None:
            from scrapy.resolver import dnscache

            # One crawl per process: pins outlive any number of hosts (the resolver, installed
            # when the reactor starts, sets a size limit that would evict them).
            dnscache.limit = None
            dnscache[host] = str(decision.address)

    async def _decide(self, host: str, port: int) -> Decision:
        from twisted.internet import threads
        from twisted.internet.error import DNSLookupError

        try:
            return await maybe_deferred_to_future(threads.deferToThread(self.guard.decide, host, port))
        except OSError as exc:
            raise DNSLookupError(str(exc)) from None

    def _refuse(self, request: Request, reason: str) -> None:
        self.stats.inc_value("vigil/ssrf_refused")
        logger.warning("SSRF guard refused %s: %s", request.url, reason)
        raise RefusedAddress(f"refused {request.url}: {reason}")
