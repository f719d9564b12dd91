"""SSRF guard: a downloader middleware that refuses requests to addresses a crawler must not reach.

Ads link anywhere; a crawler inside a private network must not be steered at its neighbours or at
a cloud metadata service. The decision is taken on the addresses the host name resolves to (so
``2130706433``, ``0x7f.1`` or a DNS name pointing at 10.0.0.1 are caught), and the vetted address is
pinned for the whole crawl so every connection goes to the address that was checked (no DNS
rebinding between the check and the connection, no eviction of pins). One ``AddressGuard`` per
crawl takes these decisions for Scrapy's HTTP path (the middleware below) and for the browser's
(``crawlers.browser_proxy``), so both paths refuse and pin alike.
Hosts routed through Tor are never resolved locally (that would leak the name to the local DNS).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWED_SCHEMES = ("http", "https")

# Refused even when a profile allows private networks: instance metadata and credential endpoints.
CLOUD_METADATA: tuple[Network, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "169.254.169.254/32",  # AWS, GCP, Azure, OpenStack, DigitalOcean
        "169.254.170.2/32",  # AWS ECS task credentials
        "fd00:ec2::254/128",  # AWS IPv6
        "100.100.100.200/32",  # Alibaba Cloud
    )
)


class RefusedAddress(IgnoreRequest):
    """The request's host is, or resolves to, an address the guard refuses."""


def parse_networks(cidrs: Iterable[str]) -> list[Network]:
    """CIDR strings -> networks; ValueError names the bad entry."""
    networks: list[Network] = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(cidr.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"crawl.deny_networks: {cidr!r} is not a CIDR network ({exc})") from None
    return networks


def refusal(
    address: str | IPAddress, *, allow_private: bool = False, deny: Iterable[Network] = ()
) -> str | None:
    """Why ``address`` must not be contacted, or None when it may be."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for embedded in embedded_ipv4(ip):
        reason = refusal(embedded, allow_private=allow_private, deny=deny)
        if reason:
            return f"embeds {embedded}: {reason}"
    for network in deny:
        if ip.version == network.version and ip in network:
            return f"in deny_networks ({network})"
    for network in CLOUD_METADATA:
        if ip.version == network.version and ip in network:
            return "cloud metadata address"
    if ip.is_unspecified:
        return "unspecified address"
    if ip.is_multicast:
        return "multicast address"
    if allow_private:
        return None
    if ip.is_loopback:
        return "loopback address"
    if ip.is_link_local:
        return "link-local address"
    if ip.is_private:
        return "private address"
    if ip.is_reserved:
        return "reserved address"
    if not ip.is_global:
        return "non-global address"
    return None


# IPv6 ranges that carry an IPv4 address a relay or translator may deliver to: 6to4 (2002::/16,
# bits 16-48), Teredo (2001::/32, the client's address obfuscated), NAT64 (64:ff9b::/96 and the
# local-use 64:ff9b:1::/48, last 32 bits) and the deprecated IPv4-compatible ::a.b.c.d (::/96).
NAT64: tuple[ipaddress.IPv6Network, ...] = (
    ipaddress.IPv6Network("64:ff9b::/96"),
    ipaddress.IPv6Network("64:ff9b:1::/48"),
)
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def embedded_ipv4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address embeds (6to4, Teredo, NAT64, IPv4-compatible); [] if none."""
    if ip.version != 6:
        return []
    found: list[ipaddress.IPv4Address] = []
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if any(ip in network for network in NAT64):
        found.append(low32)
    if ip in IPV4_COMPATIBLE and int(ip) > 1:
        found.append(low32)
    return found


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the system resolver gives for host (blocking: call it in a thread)."""
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))


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
        if len(self._decided) >= self.max_hosts:
            return Decision(f"more than crawl.max_hosts ({self.max_hosts}) hosts in one crawl")
        decision = self._decide(host, port)
        with self._lock:
            return self._decided.setdefault(host, decision)

    def _decide(self, host: str, port: int) -> Decision:
        literal = _literal(host)
        if literal is not None:
            reason = refusal(literal, allow_private=self.allow_private, deny=self.deny)
            return Decision(reason, None if reason else literal)
        if not self.resolve_locally:
            return Decision(None)
        if host.rstrip(".").endswith(".onion"):
            return Decision("onion address on a clear-net crawl (use a network: tor profile)")
        try:
            addresses = resolve(host, port)
        except OSError as exc:
            raise OSError(f"cannot resolve {host} ({exc})") from None
        if not addresses:
            raise OSError(f"cannot resolve {host} (no address)")
        for address in addresses:
            reason = refusal(address, allow_private=self.allow_private, deny=self.deny)
            if reason:
                return Decision(f"{host} resolves to {address}: {reason}")
        ipv4 = [a for a in addresses if a.version == 4]
        return Decision(None, (ipv4 or addresses)[0])


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
        if self.pin and decision.address is not None and _literal(host) is None:
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
