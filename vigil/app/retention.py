"""Deleting ad data older than the retention period from every Vigil alias.

Elastic's cut-down integ-test distribution (the local stack) has no reindex module and so no
``_delete_by_query``; this uses only search and bulk, which every cluster has: find a batch of
matching ids (``_source`` off), bulk-delete them from their concrete indices, refresh, and ask
again until nothing matches. Re-asking instead of paging means deletions never shift a cursor,
and a rollover index behind the alias is handled like any other.

Which date makes a document old, per alias (``es.indices`` keys):

* ads, entities: ``last_seen`` (not seen for N days), else ``fetched_at``/``first_seen``;
* alerts: ``created_at``; jobs: ``updated_at``, else ``requested_at``; pages: ``fetched_at``.

A document with none of its dates is kept: without a date nobody can say it is old.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from vigil.core.config import ElasticsearchSettings

AGE_FIELDS: dict[str, tuple[str, ...]] = {
    "ads": ("last_seen", "fetched_at", "first_seen"),
    "entities": ("last_seen", "first_seen"),
    "alerts": ("created_at",),
    "jobs": ("updated_at", "requested_at"),
    "pages": ("fetched_at",),
}


@dataclass
class Outcome:
    key: str
    alias: str
    matched: int = 0
    deleted: int = 0
    absent: bool = False
    errors: int = 0


def cutoff(days: int, now: datetime | None = None) -> datetime:
    return (now or datetime.now(UTC)) - timedelta(days=days)


def older_than(fields: tuple[str, ...], before: datetime) -> dict[str, Any]:
    """The first of ``fields`` that the document has decides: it must lie before ``before``."""
    when = before.isoformat()
    clauses = []
    for i, name in enumerate(fields):
        missing_earlier = [{"bool": {"must_not": {"exists": {"field": f}}}} for f in fields[:i]]
        clauses.append({"bool": {"filter": [*missing_earlier, {"range": {name: {"lt": when}}}]}})
    return {"bool": {"should": clauses, "minimum_should_match": 1}}


def _exists(es, alias: str) -> bool:
    return bool(es.indices.exists(index=alias))


def purge(
    es,
    settings: ElasticsearchSettings,
    days: int,
    *,
    dry_run: bool = False,
    only: list[str] | None = None,
    batch_size: int = 1000,
    now: datetime | None = None,
) -> list[Outcome]:
    """Delete (or with ``dry_run`` only count) documents older than ``days`` in each alias."""
    before = cutoff(days, now)
    aliases = settings.indices.model_dump()
    outcomes = []
    for key, fields in AGE_FIELDS.items():
        if key not in aliases or (only and key not in only):
            continue
        outcome = Outcome(key=key, alias=aliases[key])
        outcomes.append(outcome)
        if not _exists(es, outcome.alias):
            outcome.absent = True
            continue
        query = older_than(fields, before)
        outcome.matched = es.count(index=outcome.alias, query=query)["count"]
        if dry_run or not outcome.matched:
            continue
        _delete_matching(es, outcome, query, batch_size)
    return outcomes


def _delete_matching(es, outcome: Outcome, query: dict[str, Any], batch_size: int) -> None:
    while True:
        hits = es.search(
            index=outcome.alias,
            query=query,
            size=batch_size,
            source=False,
            sort=["_doc"],
            track_total_hits=False,
        )["hits"]["hits"]
        if not hits:
            return
        operations = []
        for hit in hits:
            action = {"_index": hit["_index"], "_id": hit["_id"]}
            if hit.get("_routing"):
                action["routing"] = hit["_routing"]
            operations.append({"delete": action})
        response = es.bulk(operations=operations)
        deleted = sum(1 for item in response["items"] if item["delete"].get("status") in (200, 404))
        outcome.deleted += deleted
        outcome.errors += len(hits) - deleted
        es.indices.refresh(index=outcome.alias)
        if deleted == 0:  # nothing went: asking again would loop forever
            return
