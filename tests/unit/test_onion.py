"""v3 onion address validation: checksum, version byte, length; v2 refused with a clear message."""

from __future__ import annotations

import pytest

from vigil.core.onion import OnionAddressError, is_onion, is_valid_onion, onion_from_pubkey, validate_onion

# The Tor Project's own onion service (a well-known, valid v3 address).
TORPROJECT = "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion"


def test_known_v3_address_is_valid():
    assert validate_onion(TORPROJECT) == TORPROJECT
    assert validate_onion(TORPROJECT.upper() + ".") == TORPROJECT


def test_subdomain_reduces_to_service():
    assert validate_onion("www." + TORPROJECT) == TORPROJECT


def test_roundtrip_from_pubkey():
    address = onion_from_pubkey(bytes(range(32)))
    assert len(address) == 56 + len(".onion")
    assert validate_onion(address) == address


def test_checksum_mismatch_is_refused():
    label = TORPROJECT[:56]
    flipped = ("a" if label[10] != "a" else "b").join([label[:10], label[11:]])
    with pytest.raises(OnionAddressError, match="checksum"):
        validate_onion(flipped + ".onion")


def test_wrong_version_is_refused():
    import base64

    raw = bytearray(base64.b32decode(TORPROJECT[:56].upper()))
    raw[34] = 2
    bad = base64.b32encode(bytes(raw)).decode().lower() + ".onion"
    with pytest.raises(OnionAddressError, match="version byte 2"):
        validate_onion(bad)


def test_v2_is_refused_with_clear_message():
    with pytest.raises(OnionAddressError, match="v2 onion address.*retired"):
        validate_onion("expyuzz4wqqyqhjn.onion")


@pytest.mark.parametrize("host", ["example.com", "short.onion", "0" * 56 + ".onion", ""])
def test_invalid_hosts(host):
    assert not is_valid_onion(host)


def test_is_onion_is_about_the_tld_only():
    assert is_onion("anything.onion")
    assert is_onion("x.ONION.")
    assert not is_onion("onion.example")
    assert not is_onion(None)
