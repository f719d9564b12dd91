"""An ad's versions as stored in ``es.indices.ad_versions`` (docs/records.md), oldest first.

Read by ``vigil ad history`` and by whatever needs an ad's captures (the evidence export)."""

from __future__ import annotations

from vigil.core.records import AdVersion

MAX_VERSIONS = 1000


def versions(es, alias: str, ad_key: str, limit: int = MAX_VERSIONS) -> list[AdVersion]:
    """Every version of ``ad_key`` (at most ``limit``), by version number."""
    found = es.search(
        index=alias,
        query={"term": {"ad_key": ad_key}},
        sort=[{"version": "asc"}, {"first_seen": "asc"}],
        size=min(limit, MAX_VERSIONS),
    )
    return [AdVersion.model_validate(hit["_source"]) for hit in found["hits"]["hits"]]
