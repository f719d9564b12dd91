"""Which ``vigil-ads`` field holds which entity type, so every analyst query names them alike."""

from __future__ import annotations

ENTITY_FIELDS: dict[str, str] = {
    "phone": "phones",
    "email": "emails",
    "wallet": "wallets",
    "handle": "handles",
    "onion": "onions",
    "image": "image_hashes",  # photo links (docs/images.md)
}

TEXT_FIELDS = ["title^2", "text", "location"]
TIME_FIELD = "first_seen"


def field_for(entity_type: str) -> str:
    try:
        return ENTITY_FIELDS[entity_type]
    except KeyError:
        known = ", ".join(ENTITY_FIELDS)
        raise ValueError(f"unknown entity type {entity_type!r} (known: {known})") from None
