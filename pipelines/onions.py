"""Tor v3 onion addresses, kept only when the embedded checksum and version validate.

v2 addresses (16 characters) are obsolete since Tor 0.4.6 and carry no checksum, so they are
not kept as valid onions.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator

from Crypto.Hash import SHA3_256

ONION_RE = re.compile(r"(?<![a-z2-7])([a-z2-7]{56})\.onion\b", re.IGNORECASE)


def validate_v3(host: str) -> str | None:
    """The lower-case v3 host ("<56 chars>.onion") if its checksum validates, else None."""
    label = host.strip().lower().removesuffix(".onion").rsplit(".", 1)[-1]
    if not re.fullmatch(r"[a-z2-7]{56}", label):
        return None
    raw = base64.b32decode(label.upper())
    pubkey, checksum, version = raw[:32], raw[32:34], raw[34]
    if version != 3:
        return None
    digest = SHA3_256.new(b".onion checksum" + pubkey + b"\x03").digest()
    return f"{label}.onion" if digest[:2] == checksum else None


def find_onions(text: str) -> Iterator[tuple[re.Match[str], str]]:
    for match in ONION_RE.finditer(text):
        host = validate_v3(match.group(0))
        if host:
            yield match, host
