"""SSRF guard: a downloader middleware that refuses requests to addresses a crawler must not reach.

Ads link anywhere; a crawler inside a private network must not be steered at its neighbours or at
a cloud metadata service. The decision is taken on the addresses the host name resolves to (so
``2130706433``, ``0x7f.1`` or a DNS name pointing at 10.0.0.1 are caught), and the vetted address is
pinned in Scrapy's DNS cache so the connection goes to the address that was checked.
Hosts routed through Tor are never resolved locally (that would leak the name to the local DNS).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterable
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


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the system resolver gives for host (blocking: call it in a thread)."""
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))


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
        literal = _literal(host)
        if literal is not None:
            return refusal(literal, allow_private=self.allow_private, deny=self.deny)
        if not self.resolve_locally:
            return None
        if host.endswith(".onion"):
            return "onion address on a clear-net crawl (use a network: tor profile)"
        from twisted.internet import threads
        from twisted.internet.error import DNSLookupError

        try:
            addresses = await maybe_deferred_to_future(threads.deferToThread(resolve, host, port))
        except OSError as exc:
            raise DNSLookupError(f"cannot resolve {host} ({exc})") from None
        for address in addresses:
            reason = refusal(address, allow_private=self.allow_private, deny=self.deny)
            if reason:
                return f"{host} resolves to {address}: {reason}"
        ipv4 = [a for a in addresses if a.version == 4]
        if self.pin and ipv4:
            from scrapy.resolver import dnscache

            dnscache[host] = str(ipv4[0])
        return None

    def _refuse(self, request: Request, reason: str) -> None:
        self.stats.inc_value("vigil/ssrf_refused")
        logger.warning("SSRF guard refused %s: %s", request.url, reason)
        raise RefusedAddress(f"refused {request.url}: {reason}")
