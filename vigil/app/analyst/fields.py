"""Which ``vigil-ads`` field holds which entity type, so every analyst query names them alike."""

from __future__ import annotations

from vigil.core.records import ENTITY_FIELDS

TEXT_FIELDS = ["title^2", "text", "location"]
TIME_FIELD = "first_seen"
TYPE_OF_FIELD = {name: entity_type for entity_type, name in ENTITY_FIELDS.items()}
"""The other way round: the entity type a ``vigil-ads`` field holds."""


def field_for(entity_type: str) -> str:
    try:
        return ENTITY_FIELDS[entity_type]
    except KeyError:
        known = ", ".join(ENTITY_FIELDS)
        raise ValueError(f"unknown entity type {entity_type!r} (known: {known})") from None
