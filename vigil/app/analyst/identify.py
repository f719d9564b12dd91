"""Entity values typed by an analyst, normalised by the same code as enrichment.

``vigil.core.entities`` is the one normaliser: a phone typed as ``(205) 541-9574`` must become the
E.164 value that enrichment stored, or the lookup silently finds nothing.
"""

from __future__ import annotations

from vigil.app.analyst.fields import ENTITY_FIELDS


class IdentifyError(Exception):
    """The value is not a phone, e-mail, wallet, handle or onion we can normalise."""


def identify(value: str, entity_type: str | None = None, region: str | None = None) -> tuple[str, str]:
    """(type, normalised value); ``entity_type`` forces the type instead of detecting it."""
    from vigil.core import entities

    value = value.strip()
    if not value:
        raise IdentifyError("empty value")
    if entity_type:
        if entity_type not in ENTITY_FIELDS:
            raise IdentifyError(f"unknown type {entity_type!r} (known: {', '.join(ENTITY_FIELDS)})")
        try:
            normalised = entities.normalize(entity_type, value, region=region)
        except ValueError as exc:
            raise IdentifyError(f"not a valid {entity_type}: {value!r} ({exc})") from None
        if not normalised:
            raise IdentifyError(f"not a valid {entity_type}: {value!r}")
        return entity_type, normalised
    found = entities.detect(value, region=region)
    if found is None:
        raise IdentifyError(
            f"{value!r} is not recognised as a phone, e-mail, wallet, handle or onion "
            "(give --type, or --region for a national phone number)"
        )
    kind, normalised = found
    if kind not in ENTITY_FIELDS:
        raise IdentifyError(f"{value!r} is a {kind}, which ads are not indexed by")
    return kind, normalised


def try_identify(value: str, region: str | None = None) -> tuple[str, str] | None:
    """Like identify, but None when the value is not an entity (free text in a search)."""
    try:
        return identify(value, region=region)
    except (IdentifyError, ImportError):
        return None
