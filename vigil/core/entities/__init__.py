"""The one normaliser of contact entities, shared by enrichment, watchlists and `vigil entity`.

Types: phone (E.164), email (lower-case), wallet (canonical address), handle
(``platform:name`` lower-case), onion (lower-case v3 host), url (canonical URL), image (a photo's
64-bit perceptual hash, 16 lower-case hex digits; found by the image worker, never in text).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from vigil.core.config import LimitsSettings
from vigil.core.entities import emails, handles, onions, phones, urls, wallets
from vigil.core.entities.spans import Spans, masked
from vigil.core.metrics import LIMITS_HIT
from vigil.core.prefilter import PatternSet
from vigil.core.records import Entity

ENTITY_TYPES = ("phone", "email", "wallet", "handle", "onion", "url", "image")
IMAGE_HASH = re.compile(r"[0-9a-f]{16}")

# One Hyperscan pass over a text tells which finders can find anything in it; the others are not
# run. Phones are always read.
_FINDERS = {
    "onion": [onions.ONION_RE],
    "url": [urls.URL_RE],
    "email": [emails.PLAIN_RE, emails.OBFUSCATED_RE],
    "wallet": [wallets.CANDIDATE_RE],
    "handle": [*handles.LINK_RE.values(), handles.ANY_CONTEXT_RE],
    "messenger": [handles.MESSENGER_RE],
}
_FINDER_OF = [name for name, patterns in _FINDERS.items() for _ in patterns]
_GATES = PatternSet([pattern for patterns in _FINDERS.values() for pattern in patterns])


def _finders(text: str) -> set[str]:
    """The finders that may match ``text`` (a superset of those that do)."""
    return {_FINDER_OF[index] for index in _GATES.candidates(text)}


def normalize(entity_type: str, value: str, region: phones.Regions = None) -> str | None:
    """The normalised form of ``value`` as ``entity_type``, or None when it is not valid."""
    if not isinstance(value, str) or not value.strip():
        return None
    entity_type = entity_type.strip().lower()
    value = value.strip()
    if entity_type == "phone":
        return phones.normalize_phone(value, region)
    if entity_type == "email":
        return emails.normalize_email(value)
    if entity_type == "wallet":
        wallet = wallets.validate(value)
        return wallet.address if wallet else None
    if entity_type == "handle":
        return handles.parse_handle(value)
    if entity_type == "onion":
        host = re.sub(r"^[a-z]+://", "", value.lower()).split("/", 1)[0]
        return onions.validate_v3(host)
    if entity_type == "url":
        return urls.normalize_url(value)
    if entity_type == "image":
        value = value.lower().removeprefix("image:")
        return value if IMAGE_HASH.fullmatch(value) else None
    raise ValueError(f"unknown entity type {entity_type!r}; expected one of {', '.join(ENTITY_TYPES)}")


def detect(value: str, region: phones.Regions = None) -> tuple[str, str] | None:
    """Guess the type of a bare value: (type, normalised value), or None if none fits."""
    value = (value or "").strip()
    if not value:
        return None
    ordered = ("onion", "wallet", "email", "handle", "url", "phone")
    if re.fullmatch(r"[+0-9()\s.\-/]{6,}", value):
        ordered = ("phone",)
    for entity_type in ordered:
        normalised = normalize(entity_type, value, region)
        if normalised:
            return entity_type, normalised
    return None


@dataclass
class EntityScan:
    """What find_entities found, and which bounds cut it short (names of LimitsSettings keys)."""

    entities: list[Entity]
    truncated: set[str] = field(default_factory=set)


def bound_occurrences(entities: list[Entity], spans_per_value: int, values_per_type: int) -> EntityScan:
    """The first ``spans_per_value`` occurrences of each value and the first ``values_per_type``
    values of each type (in order of appearance): a page repeating one address 12,000 times, or
    listing 15,000 addresses, yields a bounded list."""
    kept: list[Entity] = []
    spans: Counter[tuple[str, str]] = Counter()
    values: Counter[str] = Counter()
    truncated: set[str] = set()
    for entity in entities:
        key = (entity.type, entity.value)
        if key not in spans:
            if values[entity.type] >= values_per_type:
                truncated.add("entity_values_per_type")
                continue
            values[entity.type] += 1
        if spans[key] >= spans_per_value:
            truncated.add("entity_spans_per_value")
            continue
        spans[key] += 1
        kept.append(entity)
    return EntityScan(kept, truncated)


def find_entities(text: str, region: phones.Regions = None) -> list[Entity]:
    """All entities in ``text`` with their spans, in order of appearance, within the default bounds
    (see scan_entities). ``region``: the region, or candidate regions in order, in which national
    phone numbers are read."""
    return scan_entities(text, region).entities


def scan_entities(
    text: str,
    region: phones.Regions = None,
    *,
    spans_per_value: int | None = None,
    values_per_type: int | None = None,
    expired: Callable[[], bool] | None = None,
) -> EntityScan:
    """Entities in ``text``, bounded (LimitsSettings' entity_* keys by default). ``expired`` is
    asked between entity types: once it says yes the remaining types are skipped and the scan
    reports ``analysis_seconds``. Overlap checks are O(log n), so the scan is O(n log n)."""
    defaults = LimitsSettings()
    found: list[Entity] = []
    taken = Spans()
    truncated: set[str] = set()

    def out_of_time() -> bool:
        if expired is not None and expired():
            truncated.add("analysis_seconds")
            return True
        return False

    finders = _finders(text)
    for match, host in onions.find_onions(text) if "onion" in finders else ():
        found.append(Entity(type="onion", value=host, raw=match.group(0), start=match.start(), end=match.end()))
    for start, end, value in urls.find_urls(text) if "url" in finders else ():
        taken.add(start, end)
        if ".onion" not in value:
            found.append(Entity(type="url", value=value, raw=text[start:end], start=start, end=end))
    if "email" in finders and not out_of_time():
        # find_emails yields no two overlapping addresses, so checking against the URLs alone is
        # checking against everything taken so far.
        addresses = []
        for start, end, value, obfuscated in emails.find_emails(text):
            if not taken.overlaps(start, end):
                addresses.append((start, end))
                found.append(
                    Entity(type="email", value=value, raw=text[start:end], start=start, end=end, obfuscated=obfuscated)
                )
        for start, end in addresses:
            taken.add(start, end)
    if "wallet" in finders and not out_of_time():
        for match, wallet in wallets.find_wallets(text):
            taken.add(*match.span())
            found.append(
                Entity(
                    type="wallet", value=wallet.address, kind=wallet.chain, raw=match.group(0),
                    start=match.start(), end=match.end(),
                )
            )
    if "handle" in finders and not out_of_time():
        for handle in handles.find_handles(text):
            found.append(
                Entity(
                    type="handle", value=handle.value, kind=handle.platform, raw=handle.raw,
                    start=handle.start, end=handle.end,
                )
            )
            if handle.platform == "whatsapp" and handle.value.startswith("whatsapp:+"):
                taken.add(handle.start, handle.end)
                e164 = handle.value.split(":", 1)[1]
                found.append(Entity(type="phone", value=e164, raw=handle.raw, start=handle.start, end=handle.end))
    if not out_of_time():
        # Digits inside URLs, addresses and wallets are blanked rather than passed as exclusions:
        # same offsets, no per-digit search through thousands of spans.
        bounded_numbers = bound_occurrences(
            [
                Entity(type="phone", value=p.e164, raw=p.raw, start=p.start, end=p.end, obfuscated=p.obfuscated)
                for p in phones.find_phones(masked(text, taken), region)
            ],
            spans_per_value or defaults.entity_spans_per_value,
            values_per_type or defaults.entity_values_per_type,
        )
        numbers = bounded_numbers.entities
        truncated |= bounded_numbers.truncated
        found += numbers
        if "messenger" in finders and numbers and not out_of_time():
            for handle in handles.find_messenger_numbers(text, [(p.start, p.end, p.value) for p in numbers]):
                found.append(
                    Entity(
                        type="handle", value=handle.value, kind=handle.platform, raw=handle.raw,
                        start=handle.start, end=handle.end,
                    )
                )
    found.sort(key=lambda e: (e.start, e.type))
    scan = bound_occurrences(
        found,
        spans_per_value or defaults.entity_spans_per_value,
        values_per_type or defaults.entity_values_per_type,
    )
    scan.truncated |= truncated
    for limit in sorted(scan.truncated):
        LIMITS_HIT.labels(limit).inc()
    return scan
