"""Onion service addresses: v3 validation (checksum, version) and a clear refusal of v2.

Shared by the crawlers (a Tor-routed URL must name a valid service before any connection is
made) and by enrichment (an onion found in an ad's text is only an entity if it is valid).
"""

from __future__ import annotations

import base64
import hashlib
import re

V3_LENGTH = 56
V2_LENGTH = 16
VERSION = 3
_CHECKSUM_PREFIX = b".onion checksum"
_BASE32 = re.compile(r"^[a-z2-7]+$")


class OnionAddressError(ValueError):
    """An .onion host that no Tor client could reach; the message says why."""


def is_onion(host: str | None) -> bool:
    """True for any host under the .onion TLD (valid or not): such hosts must only go to Tor."""
    return bool(host) and host.rstrip(".").lower().endswith(".onion")


def _checksum(pubkey: bytes) -> bytes:
    return hashlib.sha3_256(_CHECKSUM_PREFIX + pubkey + bytes([VERSION])).digest()[:2]


def onion_from_pubkey(pubkey: bytes) -> str:
    """The v3 address (with ``.onion``) of an ed25519 public key."""
    if len(pubkey) != 32:
        raise ValueError("an ed25519 public key has 32 bytes")
    raw = pubkey + _checksum(pubkey) + bytes([VERSION])
    return base64.b32encode(raw).decode("ascii").lower() + ".onion"


def validate_onion(host: str) -> str:
    """Return the normalised service address (``<56 chars>.onion``) of ``host`` or raise.

    Subdomains (``www.<addr>.onion``) are accepted and reduced to the service address; v2
    addresses (16 characters, retired by Tor in 2021) are refused with a message saying so.
    """
    name = (host or "").strip().rstrip(".").lower()
    if not name.endswith(".onion"):
        raise OnionAddressError(f"{host!r} is not an .onion address")
    label = name[: -len(".onion")].rsplit(".", 1)[-1]
    if len(label) == V2_LENGTH and _BASE32.match(label):
        raise OnionAddressError(
            f"{host!r} is a v2 onion address: v2 onion services were retired by Tor in 2021 "
            "and cannot be reached; only v3 addresses (56 characters) are supported"
        )
    if len(label) != V3_LENGTH:
        raise OnionAddressError(
            f"{host!r} is not a valid v3 onion address: expected 56 base32 characters, got {len(label)}"
        )
    if not _BASE32.match(label):
        raise OnionAddressError(f"{host!r} is not a valid v3 onion address: not base32 (a-z, 2-7)")
    raw = base64.b32decode(label.upper())
    pubkey, checksum, version = raw[:32], raw[32:34], raw[34]
    if version != VERSION:
        raise OnionAddressError(f"{host!r} is not a valid v3 onion address: version byte {version}, expected 3")
    if checksum != _checksum(pubkey):
        raise OnionAddressError(f"{host!r} is not a valid v3 onion address: checksum mismatch (a typo?)")
    return f"{label}.onion"


def is_valid_onion(host: str) -> bool:
    try:
        validate_onion(host)
    except OnionAddressError:
        return False
    return True
