"""The regions in which an ad's national phone numbers are read: its country, then its language's.

A profile names one country for a whole board, but real boards carry ads from many countries:
a UK board lists Dutch, German and Romanian ads whose numbers are written nationally
("06-12 34 56 78"). A national number means something only in a region, so the phone extractor
tries these candidates in order and keeps a number in the first region where phonenumbers says it
is valid. The table is small on purpose: each extra region is one more chance to read a stray
digit run as a number, and the national-prefix rule ("must start with 0" where the prefix is 0)
already rules out most readings in the wrong region.
"""

from __future__ import annotations

LANGUAGE_REGIONS: dict[str, tuple[str, ...]] = {
    "en": ("GB", "US", "IE"),
    "nl": ("NL", "BE"),
    "de": ("DE", "AT", "CH"),
    "fr": ("FR", "BE"),
    "es": ("ES",),
    "it": ("IT",),
    "pl": ("PL",),
    "ro": ("RO",),
    "pt": ("PT", "BR"),
    "ru": ("RU",),
    "uk": ("UA",),
}
_ALIASES = {"UK": "GB", "EL": "GR"}


def country_region(country: str | None) -> str | None:
    """The ISO 3166 region code of a profile's country ("uk" → "GB"), None if it is not one."""
    if not country or len(country.strip()) != 2 or not country.strip().isalpha():
        return None
    code = country.strip().upper()
    return _ALIASES.get(code, code)


def candidate_regions(country: str | None, language: str | None) -> tuple[str, ...]:
    """The page's country first, then the regions where the ad's language is spoken, no repeats."""
    first = country_region(country)
    regions = ((first,) if first else ()) + LANGUAGE_REGIONS.get((language or "").strip().lower()[:2], ())
    return tuple(dict.fromkeys(regions))
