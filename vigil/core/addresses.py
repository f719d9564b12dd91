"""The SSRF decision: which hosts and addresses Vigil may contact, shared by every fetcher.

Ads link anywhere; a crawler or image fetcher inside a private network must not be steered at its
neighbours or at a cloud metadata service. The decision is taken on the addresses the host name
resolves to (so ``2130706433``, ``0x7f.1`` or a DNS name pointing at 10.0.0.1 are caught); the
caller connects to a vetted address (see ``Vetted.addresses``) so DNS cannot change the answer
between the check and the connection. The crawler's downloader middleware (crawlers/ssrf.py)
and the image fetcher (pipelines/image_fetch.py) both decide here.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWED_SCHEMES = ("http", "https")
ONION_REFUSAL = "onion address on a clear-net crawl (use a network: tor profile)"

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


def literal(host: str) -> IPAddress | None:
    """The address when ``host`` is an IP literal (``[::1]`` included), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the system resolver gives for host (blocking: call it in a thread)."""
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))


@dataclass
class Vetted:
    """The decision on one host: ``reason`` when refused, else the addresses it may be reached at."""

    reason: str | None
    addresses: list[IPAddress] = field(default_factory=list)


def vet(host: str, port: int, *, allow_private: bool = False, deny: Iterable[Network] = ()) -> Vetted:
    """Decide on a host resolved locally (blocking); OSError when it does not resolve.
    Every address it resolves to must pass: one bad answer refuses the host."""
    deny = list(deny)
    address = literal(host)
    if address is not None:
        return Vetted(refusal(address, allow_private=allow_private, deny=deny), [address])
    if host.endswith(".onion"):
        return Vetted(ONION_REFUSAL)
    addresses = resolve(host, port)
    for address in addresses:
        reason = refusal(address, allow_private=allow_private, deny=deny)
        if reason:
            return Vetted(f"{host} resolves to {address}: {reason}")
    return Vetted(None, addresses)
