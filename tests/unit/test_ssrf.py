"""The SSRF guard's decision on addresses (no packet is sent anywhere)."""

from __future__ import annotations

import pytest

from vigil.core.addresses import parse_networks, refusal

REFUSED_BY_DEFAULT = ["10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.169.254", "fd00::1", "127.0.0.1",
                      "::1", "224.0.0.1", "0.0.0.0", "100.64.0.1", "::ffff:127.0.0.1", "240.0.0.1"]


@pytest.mark.parametrize("address", REFUSED_BY_DEFAULT)
def test_default_deny_list(address):
    assert refusal(address) is not None


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700:4700::1111", "8.8.8.8"])
def test_public_addresses_pass(address):
    assert refusal(address) is None


@pytest.mark.parametrize("address", ["10.0.0.1", "172.16.0.1", "192.168.1.1", "127.0.0.1", "::1", "fd00::1"])
def test_allow_private_network(address):
    assert refusal(address, allow_private=True) is None


@pytest.mark.parametrize("address", ["169.254.169.254", "fd00:ec2::254", "224.0.0.1", "0.0.0.0"])
def test_always_refused_even_with_private_allowed(address):
    assert refusal(address, allow_private=True) is not None


def test_deny_networks_win_over_allow_private():
    deny = parse_networks(["127.0.0.2/32", "2001:db8::/32"])
    assert "deny_networks" in refusal("127.0.0.2", allow_private=True, deny=deny)
    assert "deny_networks" in refusal("8.8.8.8", deny=parse_networks(["8.8.8.0/24"]))
    assert refusal("127.0.0.1", allow_private=True, deny=deny) is None


def test_reasons_name_the_kind():
    assert refusal("169.254.169.254") == "cloud metadata address"
    assert refusal("127.0.0.1") == "loopback address"
    assert refusal("10.0.0.1") == "private address"
    assert refusal("224.0.0.1") == "multicast address"


def test_bad_cidr_names_the_entry():
    with pytest.raises(ValueError, match="'10.0.0.0/33'"):
        parse_networks(["10.0.0.0/33"])


def test_canonical_urls_dedup():
    from crawlers.pages import canonical_url

    assert canonical_url("http://Example.com/a?b=2&a=1#x") == canonical_url("http://example.com/a?a=1&b=2")
    assert canonical_url("http://h/p?sid=9&page=2", ["sid"]) == "http://h/p?page=2"


@pytest.mark.parametrize(
    "address",
    [
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:a9fe:a9fe::",  # 6to4 of the metadata address
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1 (obfuscated)
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b:1::a9fe:a9fe",  # local-use NAT64 of the metadata address
        "::127.0.0.1",  # IPv4-compatible
        "::a00:1",  # IPv4-compatible 10.0.0.1
    ],
)
def test_ipv4_embedding_ranges_are_judged_by_the_embedded_address(address):
    assert "embeds" in refusal(address)


def test_embedded_address_obeys_deny_networks_and_metadata_with_private_allowed():
    deny = parse_networks(["127.0.0.2/32"])
    assert "deny_networks" in refusal("2002:7f00:2::", allow_private=True, deny=deny)
    assert "deny_networks" in refusal("64:ff9b::7f00:2", allow_private=True, deny=deny)
    assert "metadata" in refusal("2002:a9fe:a9fe::", allow_private=True)
    assert refusal("2002:7f00:1::", allow_private=True, deny=deny) is None


def test_embedded_ipv4_of_plain_addresses_is_empty():
    import ipaddress

    from vigil.core.addresses import embedded_ipv4

    assert embedded_ipv4(ipaddress.ip_address("2606:4700:4700::1111")) == []
    assert embedded_ipv4(ipaddress.ip_address("::1")) == []
    assert embedded_ipv4(ipaddress.ip_address("8.8.8.8")) == []


def test_guard_resolves_once_and_pins_for_the_crawl(monkeypatch):
    import ipaddress

    from crawlers import ssrf
    from vigil.core import addresses

    answers = iter([["93.184.215.14"], ["10.0.0.1"]])
    calls = []

    def fake_resolve(host, port):
        calls.append(host)
        return [ipaddress.ip_address(a) for a in next(answers)]

    monkeypatch.setattr(addresses, "resolve", fake_resolve)
    guard = ssrf.AddressGuard(max_hosts=3)
    first = guard.decide("Rebind.Example", 80)
    again = guard.decide("rebind.example", 443)
    assert first.reason is None and str(first.address) == "93.184.215.14"
    assert again is first and calls == ["rebind.example"]  # a second answer (10.0.0.1) is never asked for


def test_guard_bounds_hosts_instead_of_evicting_pins():
    from crawlers.ssrf import AddressGuard

    guard = AddressGuard(allow_private=True, max_hosts=2)
    assert guard.decide("127.0.0.1", 80).reason is None
    assert guard.decide("127.0.0.3", 80).reason is None
    assert "max_hosts" in guard.decide("127.0.0.4", 80).reason
    assert guard.decide("127.0.0.1", 80).reason is None  # pinned hosts stay usable


def test_guard_refuses_every_address_when_one_is_refused(monkeypatch):
    import ipaddress

    from crawlers import ssrf
    from vigil.core import addresses

    monkeypatch.setattr(addresses, "resolve", lambda h, p: [ipaddress.ip_address("8.8.8.8"), ipaddress.ip_address("::1")])
    decision = ssrf.AddressGuard().decide("mixed.example", 80)
    assert decision.reason and "::1" in decision.reason and decision.address is None


def test_guard_never_resolves_on_tor_crawls(monkeypatch):
    from crawlers import ssrf
    from vigil.core import addresses

    monkeypatch.setattr(addresses, "resolve", lambda h, p: pytest.fail("resolved locally"))
    guard = ssrf.AddressGuard(resolve_locally=False)
    assert guard.decide("example.onion", 80).reason is None
    assert guard.decide("127.0.0.1", 80).reason == "loopback address"
