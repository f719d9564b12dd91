"""URLs in ad text, canonicalised with w3lib so the same link compares equal across ads."""

from __future__ import annotations

import re
from collections.abc import Iterator

from w3lib.url import canonicalize_url

URL_RE = re.compile(
    r"(?<![\w@.])(?:(?:https?|hxxps?)://|www\.)[^\s<>\"'`{}|\\^\[\]]+[^\s<>\"'`{}|\\^\[\].,;:!?)*]",
    re.IGNORECASE,
)


def normalize_url(value: str) -> str | None:
    value = value.strip()
    if value.lower().startswith("hxxp"):
        value = "http" + value[4:]
    if value.lower().startswith("www."):
        value = "http://" + value
    if not re.match(r"https?://[^/\s]+\.[^/\s]+", value, re.IGNORECASE):
        return None
    try:
        return canonicalize_url(value)
    except (ValueError, UnicodeError):
        return None


def find_urls(text: str) -> Iterator[tuple[int, int, str]]:
    for match in URL_RE.finditer(text):
        value = normalize_url(match.group(0))
        if value:
            yield match.start(), match.end(), value
