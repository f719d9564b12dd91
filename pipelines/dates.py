"""When the ad was posted: profile field, metadata or <time>, parsed with dateparser.

Relative dates ("2 hours ago", "gestern") are resolved against the page's fetch time, so the
result depends on the page alone and re-processing gives the same answer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import dateparser

_META_KEYS = ("datePosted", "datePublished", "dateCreated", "article:published_time", "og:updated_time", "dateModified")
_LANGUAGES = ["en", "nl", "de", "fr", "es", "it", "pl", "ro", "pt", "ru", "uk"]


def parse_date(value: str, fetched_at: datetime, language: str | None = None) -> datetime | None:
    value = (value or "").strip()[:100]
    if not value:
        return None
    base = fetched_at if fetched_at.tzinfo else fetched_at.replace(tzinfo=UTC)
    languages = [language] + [x for x in _LANGUAGES if x != language] if language in _LANGUAGES else _LANGUAGES
    try:
        parsed = dateparser.parse(
            value,
            languages=languages,
            settings={
                "RELATIVE_BASE": base.replace(tzinfo=None),
                "RETURN_AS_TIMEZONE_AWARE": True,
                "TO_TIMEZONE": "UTC",
                "PREFER_DATES_FROM": "past",
            },
        )
    except (ValueError, TypeError, OverflowError, AttributeError):
        return None
    if parsed is None or not 1990 <= parsed.year <= base.year + 1:
        return None
    return parsed.astimezone(UTC)


def find_posted_at(
    field_value: str | None, metadata: dict[str, Any], time_datetime: str | None, fetched_at: datetime,
    language: str | None = None,
) -> datetime | None:
    candidates = [field_value] + [str(metadata[k]) for k in _META_KEYS if metadata.get(k)] + [time_datetime]
    for candidate in candidates:
        if candidate:
            parsed = parse_date(candidate, fetched_at, language)
            if parsed:
                return parsed
    return None
