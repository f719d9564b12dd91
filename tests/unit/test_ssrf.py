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
