"""Where the ad is for: the profile's location field, JSON-LD address, or a labelled line."""

from __future__ import annotations

import re
from typing import Any

LABELLED_RE = re.compile(
    r"(?im)^[^\S\n]*(?:location|city|area|locatie|plaats|stad|standort|ort|stadt|lieu|ville|ubicación|ciudad|zona"
    r"|località|città|lokalizacja|miasto|locație|loca[țt]ie|oraș|localização|cidade)[^\S\n]*[:\-][^\S\n]*(.{2,80}?)[^\S\n]*$"
)


def find_location(field_value: str | None, metadata: dict[str, Any], text: str) -> str | None:
    if field_value and field_value.strip():
        return " ".join(field_value.split())[:200]
    parts = [metadata.get(k) for k in ("addressLocality", "addressRegion", "addressCountry")]
    parts = [str(p).strip() for p in parts if isinstance(p, str | int) and str(p).strip()]
    if parts:
        return ", ".join(dict.fromkeys(parts))[:200]
    for key in ("place:location:locality", "og:locality"):
        if isinstance(metadata.get(key), str) and metadata[key].strip():
            return metadata[key].strip()[:200]
    match = LABELLED_RE.search(text)
    return " ".join(match.group(1).split())[:200] if match else None
