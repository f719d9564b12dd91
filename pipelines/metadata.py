"""Structured metadata (JSON-LD, OpenGraph) via extruct, flattened to the fields Vigil uses."""

from __future__ import annotations

from typing import Any

import extruct

from vigil.core.prefilter import PatternSet

_KEEP_JSONLD = (
    "@type", "name", "headline", "description", "datePosted", "datePublished", "dateCreated", "dateModified",
    "image", "price", "priceCurrency", "telephone", "email", "address", "addressLocality", "addressRegion",
    "addressCountry", "baseSalary", "jobLocation", "hiringOrganization", "validThrough", "url",
)

# Pages without JSON-LD or OpenGraph are the rule: one caseless Hyperscan pass over the page tells,
# where lower-casing a 30 KB page to look cost as much as parsing it.
_MARKERS = PatternSet([r"application/ld\+json", "og:"])


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _scalar(value: Any) -> str | int | float | bool | None:
    value = _first(value)
    if isinstance(value, dict):
        for key in ("@value", "name", "url", "value", "@id"):
            if key in value:
                return _scalar(value[key])
        return None
    return value if isinstance(value, str | int | float | bool) else None


def _walk_jsonld(item: Any, out: dict[str, Any], depth: int = 0) -> None:
    if depth > 6:
        return
    if isinstance(item, list):
        for sub in item[:20]:
            _walk_jsonld(sub, out, depth + 1)
        return
    if not isinstance(item, dict):
        return
    for key, value in item.items():
        if key in ("@graph", "offers", "address", "jobLocation", "baseSalary", "mainEntity", "itemOffered"):
            _walk_jsonld(value, out, depth + 1)
        if key in _KEEP_JSONLD and key not in out:
            if key == "image":
                images = value if isinstance(value, list) else [value]
                urls = [_scalar(i) for i in images[:20]]
                out["image"] = [u for u in urls if isinstance(u, str)]
            else:
                scalar = _scalar(value)
                if scalar is not None:
                    out[key] = scalar


def extract_metadata(page_html: str, base_url: str) -> dict[str, Any]:
    """Flat dict of JSON-LD fields and og:* properties; empty when the page has none."""
    if not _MARKERS.may_match(page_html[:200_000]):
        return {}
    try:
        data = extruct.extract(
            page_html, base_url=base_url, syntaxes=["json-ld", "opengraph"], uniform=True, errors="ignore"
        )
    except Exception:  # extruct lets lxml/json parser errors of many types escape on broken markup
        return {}
    out: dict[str, Any] = {}
    for item in data.get("opengraph") or []:
        for key, value in item.items():
            if key.startswith(("og:", "article:", "place:", "product:")) and key not in out:
                scalar = _scalar(value)
                if scalar is not None:
                    out[key] = scalar
    _walk_jsonld(data.get("json-ld") or [], out)
    return out
