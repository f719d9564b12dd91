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
    if host.rstrip(".").endswith(".onion"):
        return Vetted(ONION_REFUSAL)
    addresses = resolve(host, port)
    if not addresses:
        raise OSError(f"cannot resolve {host} (no address)")
    for address in addresses:
        reason = refusal(address, allow_private=allow_private, deny=deny)
        if reason:
            return Vetted(f"{host} resolves to {address}: {reason}")
    return Vetted(None, addresses)
