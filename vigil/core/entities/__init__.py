"""The one normaliser of contact entities, shared by enrichment, watchlists and `vigil entity`.

Types: phone (E.164), email (lower-case), wallet (canonical address), handle
(``platform:name`` lower-case), onion (lower-case v3 host), url (canonical URL), image (a photo's
64-bit perceptual hash, 16 lower-case hex digits; found by the image worker, never in text).
"""

from __future__ import annotations

import re

from vigil.core.entities import emails, handles, onions, phones, urls, wallets
from vigil.core.records import Entity

ENTITY_TYPES = ("phone", "email", "wallet", "handle", "onion", "url", "image")
IMAGE_HASH = re.compile(r"[0-9a-f]{16}")


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


def _overlaps(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(s < end and start < e for s, e in spans)


def find_entities(text: str, region: phones.Regions = None) -> list[Entity]:
    """All entities in ``text`` with their spans, in order of appearance. ``region``: the region,
    or candidate regions in order, in which national phone numbers are read."""
    found: list[Entity] = []
    taken: list[tuple[int, int]] = []

    for match, host in onions.find_onions(text):
        found.append(Entity(type="onion", value=host, raw=match.group(0), start=match.start(), end=match.end()))
    for start, end, value in urls.find_urls(text):
        taken.append((start, end))
        if ".onion" not in value:
            found.append(Entity(type="url", value=value, raw=text[start:end], start=start, end=end))
    for start, end, value, obfuscated in emails.find_emails(text):
        if _overlaps(start, end, taken):
            continue
        taken.append((start, end))
        found.append(
            Entity(type="email", value=value, raw=text[start:end], start=start, end=end, obfuscated=obfuscated)
        )
    for match, wallet in wallets.find_wallets(text):
        taken.append(match.span())
        found.append(
            Entity(
                type="wallet", value=wallet.address, kind=wallet.chain, raw=match.group(0),
                start=match.start(), end=match.end(),
            )
        )
    for handle in handles.find_handles(text):
        found.append(
            Entity(
                type="handle", value=handle.value, kind=handle.platform, raw=handle.raw,
                start=handle.start, end=handle.end,
            )
        )
        if handle.platform == "whatsapp" and handle.value.startswith("whatsapp:+"):
            taken.append((handle.start, handle.end))
            e164 = handle.value.split(":", 1)[1]
            found.append(Entity(type="phone", value=e164, raw=handle.raw, start=handle.start, end=handle.end))
    numbers = list(phones.find_phones(text, region, exclude=taken))
    for phone in numbers:
        found.append(
            Entity(
                type="phone", value=phone.e164, raw=phone.raw, start=phone.start, end=phone.end,
                obfuscated=phone.obfuscated,
            )
        )
    for handle in handles.find_messenger_numbers(text, [(p.start, p.end, p.e164) for p in numbers]):
        found.append(
            Entity(
                type="handle", value=handle.value, kind=handle.platform, raw=handle.raw,
                start=handle.start, end=handle.end,
            )
        )
    found.sort(key=lambda e: (e.start, e.type))
    return found
