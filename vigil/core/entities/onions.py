"""Onion addresses found in an ad's text, kept only when vigil.core.onion validates them (v3 checksum).

v2 addresses (16 characters) were retired by Tor and carry no checksum, so they are not kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from vigil.core.onion import OnionAddressError, validate_onion

ONION_RE = re.compile(r"(?<![a-z2-7])([a-z2-7]{56})\.onion\b", re.IGNORECASE)


def validate_v3(host: str) -> str | None:
    """The lower-case v3 host ("<56 chars>.onion") if its checksum validates, else None."""
    try:
        return validate_onion(host)
    except OnionAddressError:
        return None


def find_onions(text: str) -> Iterator[tuple[re.Match[str], str]]:
    for match in ONION_RE.finditer(text):
        host = validate_v3(match.group(0))
        if host:
            yield match, host
