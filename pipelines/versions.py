"""Ad versions: one document per content of an ad in ``es.indices.ad_versions`` (docs/records.md).

The indexer reports, per observed ad, whether it is new, changed or seen again, with the ad's
source before the merge. From that: a new ad is version 1, a change the next version (carrying the
diff from the one before, ``pipelines.diffs``), another fetch of the same content moves the
version's ``last_seen`` on and adds its capture. Written before the ads themselves (in the
indexer's ``before_write``), read-merge-write under optimistic concurrency like the indexer (no
painless): a record merged twice is a no-op (``record_ids``), so re-delivery and retried rounds
write nothing new.

Escalation (docs/indicators.md): an ad flagged for escalation keeps no screenshot. The fetch that
raises the flag loses its screenshot before anything is written (``strip_screenshots``), and the
screenshots of the ad's earlier versions are deleted when the flag arrives (``purge``); each
deletion is an entry in the audit trail and a time-stamp on the version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import structlog
from elasticsearch import ConflictError

from pipelines.diffs import LIST_FIELDS, field_changes, text_diff
from pipelines.indexer import (
    TRANSIENT_STATUSES,
    ElasticUnavailable,
    Observation,
    Outcome,
    earliest,
    es_call,
    latest,
)
from vigil.core.audit import entry
from vigil.core.consumer import Retriable
from vigil.core.evidence import EvidenceError
from vigil.core.records import ENTITY_FIELDS, AdVersion, utcnow, version_id

log = structlog.get_logger(__name__)

MAX_CAPTURES = 10
RECORD_HISTORY = 32
CONFLICT_ROUNDS = 5
PURGE_BATCH = 100
DELETED_ACTION = "evidence.screenshot_deleted"
SightingKind = Literal["version", "seen", "reanalysed"]
ANALYSED_FIELDS = (
    "analyzer_version", "phones", "emails", "wallets", "handles", "onions", "entities", "indicator_ids",
    "risk", "escalate", "price", "location",
)  # fmt: skip


class EvidenceUnavailable(Retriable):
    """A screenshot could not be deleted now: the batch waits (nothing is indexed with it)."""

    service = "the evidence store"


@dataclass
class Sighting:
    """What one indexer outcome adds to the versions index: ``source`` is the version document to
    create when ``vid`` does not exist yet."""

    kind: SightingKind
    vid: str
    source: dict[str, Any]
    record_id: str | None
    fetched_at: str | None
    capture: dict[str, Any] | None


def version_source(ad: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """The AdVersion document for an ad source (``AdDocument`` as JSON) at its first sighting,
    with the diff from ``previous`` (the ad's source before this content) when there is one."""
    seen_at = ad.get("fetched_at")
    capture = _seen_capture(ad)
    version = AdVersion(
        ad_key=ad["ad_key"],
        profile_id=ad["profile_id"],
        network=ad.get("network") or "clearnet",
        version=int(ad.get("version") or 1),
        content_hash=ad.get("content_hash") or "",
        previous_hash=(previous or {}).get("content_hash"),
        analyzer_version=ad.get("analyzer_version") or "",
        url=ad["url"],
        first_seen=seen_at,
        last_seen=seen_at,
        seen_count=1,
        title=ad.get("title") or "",
        text=ad.get("text") or "",
        price=ad.get("price"),
        location=ad.get("location"),
        **{name: list(ad.get(name) or []) for name in LIST_FIELDS},
        entities={kind: list(ad.get(name) or []) for kind, name in ENTITY_FIELDS.items() if ad.get(name)},
        indicator_ids=list(ad.get("indicator_ids") or []),
        risk=int(ad.get("risk") or 0),
        escalate=bool(ad.get("escalate")),
        captures=[capture] if capture else [],
        captures_seen=1 if capture else 0,
        changes=field_changes(previous, ad) if previous else [],
        text_diff=text_diff(previous.get("text") or "", ad.get("text") or "") if previous else "",
        record_ids=[ad["record_id"]] if ad.get("record_id") else [],
    )
    source = version.model_dump(mode="json")
    if source["escalate"]:
        source, _ = without_screenshots(source, utcnow().isoformat())
    return source


def _seen_capture(ad: dict[str, Any]) -> dict[str, Any] | None:
    capture = ad.get("capture")
    if not capture:
        return None
    return {**capture, "fetched_at": ad.get("fetched_at"), "page_record_id": ad.get("record_id")}


def sighting(outcome: Outcome) -> Sighting | None:
    """What ``outcome`` adds to the versions index (None: nothing, e.g. a duplicate or late record)."""
    if outcome.status in ("new", "changed") and outcome.document is not None:
        ad = outcome.document.model_dump(mode="json")
        previous = outcome.previous if outcome.status == "changed" else None
        kind: SightingKind = "version"
    elif outcome.status in ("seen", "reanalysed") and outcome.previous is not None:
        ad = outcome.observation.doc.model_dump(mode="json")
        ad["version"] = int(outcome.previous.get("version") or 1)
        previous, kind = None, "seen" if outcome.status == "seen" else "reanalysed"
    else:
        return None
    source = version_source(ad, previous)
    return Sighting(
        kind,
        version_id(ad["ad_key"], source["version"], source["content_hash"]),
        source,
        ad.get("record_id"),
        ad.get("fetched_at"),
        _seen_capture(ad),
    )


def bounded_captures(captures: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first capture of a version and the most recent ones, ``MAX_CAPTURES`` in all."""
    return captures if len(captures) <= MAX_CAPTURES else [captures[0], *captures[-(MAX_CAPTURES - 1) :]]


def merge_version(existing: dict[str, Any] | None, seen: Sighting) -> dict[str, Any] | None:
    """The version source to write after ``seen`` (None: nothing changes)."""
    if existing is None:
        return seen.source
    record_ids = list(existing.get("record_ids") or [])
    if seen.record_id in record_ids:
        if seen.kind != "reanalysed" or existing.get("analyzer_version") == seen.source["analyzer_version"]:
            return None
        merged = {**existing, **{name: seen.source[name] for name in ANALYSED_FIELDS}}
    else:
        captures = list(existing.get("captures") or [])
        if seen.capture:
            captures.append(seen.capture)
        merged = {
            **existing,
            "first_seen": earliest(existing.get("first_seen"), seen.fetched_at),
            "last_seen": latest(existing.get("last_seen"), seen.fetched_at),
            "seen_count": int(existing.get("seen_count") or 0) + 1,
            "record_ids": [*record_ids, seen.record_id][-RECORD_HISTORY:],
            "captures": bounded_captures(captures),
            "captures_seen": int(existing.get("captures_seen") or 0) + bool(seen.capture),
        }
        if seen.kind == "reanalysed":
            merged.update({name: seen.source[name] for name in ANALYSED_FIELDS})
    merged["escalate"] = bool(merged.get("escalate")) or bool(seen.source.get("escalate"))
    if merged["escalate"]:
        merged, _ = without_screenshots(merged, utcnow().isoformat())
    merged["updated_at"] = utcnow().isoformat()
    return merged


def without_screenshots(source: dict[str, Any], at: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The version with its captures' screenshot fields cleared and stamped, and the captures whose
    screenshot must go (their objects are deleted by the caller, before the version is written)."""
    gone = [c for c in source.get("captures") or [] if c.get("screenshot")]
    if not gone:
        return source, []
    captures = [
        {**c, "screenshot": None, "screenshot_sha256": None, "screenshot_deleted_at": at} if c.get("screenshot") else c
        for c in source.get("captures") or []
    ]
    return {**source, "captures": captures, "screenshot_deleted_at": at}, gone


def audit_id(screenshot: str) -> str:
    """One audit entry per deleted screenshot, whatever retries happen."""
    return "screenshot-deleted-" + hashlib.sha256(screenshot.encode("utf-8")).hexdigest()


class Versions:
    """Writes the versions of a batch's ads, and deletes the screenshots of escalated ads."""

    def __init__(self, es, settings, store_factory: Callable[[], Any]):
        self.es = es
        self.alias = settings.es.indices.ad_versions
        self.audit = settings.es.indices.audit
        self.who = f"worker:enrich es:{settings.es.username or 'default'}"
        self._store_factory = store_factory
        self._store = None

    @property
    def store(self):
        if self._store is None:
            self._store = self._store_factory()
        return self._store

    def strip_screenshots(self, observations: Iterable[Observation]) -> int:
        """Delete the screenshot of every fetch of an ad flagged for escalation, before it is
        indexed anywhere; returns how many went."""
        deleted = 0
        for observation in observations:
            doc = observation.doc
            capture = doc.capture
            if not (doc.escalate and capture is not None and capture.screenshot):
                continue
            self._delete(capture.screenshot, capture.screenshot_sha256, doc.ad_key, None, doc.record_id or "fetch")
            observation.doc = doc.model_copy(
                update={"capture": capture.model_copy(update={"screenshot": None, "screenshot_sha256": None})}
            )
            deleted += 1
        return deleted

    def record(self, outcomes: list[Outcome]) -> dict[int, dict[str, Any]]:
        """Write the versions ``outcomes`` make; returns id(outcome) -> its version source (with the
        diff). Raises ElasticUnavailable when Elasticsearch cannot take them now."""
        sightings = {id(o): s for o in outcomes if (s := sighting(o)) is not None}
        pending = list(sightings.values())
        for _ in range(CONFLICT_ROUNDS):
            if not pending:
                break
            pending = self._round(pending)
        if pending:
            raise ElasticUnavailable(f"version conflicts persisted over {CONFLICT_ROUNDS} rounds")
        escalated = {
            o.observation.doc.ad_key
            for o in outcomes
            if o.observation.doc.escalate and o.previous is not None and not o.previous.get("escalate")
        }
        for key in sorted(escalated):
            self.purge(key)
        return {key: s.source for key, s in sightings.items()}

    def _round(self, sightings: list[Sighting]) -> list[Sighting]:
        ids = sorted({s.vid for s in sightings})
        response = es_call(lambda: self.es.mget(index=self.alias, ids=ids, realtime=True))
        stored = {d["_id"]: d for d in response["docs"] if d.get("found")}
        merged: dict[str, dict[str, Any]] = {}
        for seen in sightings:
            current = merged.get(seen.vid) or (stored[seen.vid]["_source"] if seen.vid in stored else None)
            source = merge_version(current, seen)
            if source is not None:
                merged[seen.vid] = source
        before = {vid: stored[vid]["_source"] for vid in merged if vid in stored}
        self._delete_dropped(before, merged)
        conflicted = self._write(merged, stored)
        return [s for s in sightings if s.vid in conflicted]

    def _delete_dropped(self, before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> None:
        """Screenshots a merge cleared (the ad is now escalated) are deleted before the write."""
        for vid, old in before.items():
            kept = {c.get("screenshot") for c in after[vid].get("captures") or []}
            for capture in old.get("captures") or []:
                if capture.get("screenshot") and capture["screenshot"] not in kept:
                    self._delete(
                        capture["screenshot"], capture.get("screenshot_sha256"), old["ad_key"], old.get("version"), vid
                    )

    def _write(self, sources: dict[str, dict[str, Any]], stored: dict[str, dict[str, Any]]) -> set[str]:
        if not sources:
            return set()
        operations: list[dict[str, Any]] = []
        for vid, source in sources.items():
            meta: dict[str, Any] = {"_index": self.alias, "_id": vid}
            if vid in stored:
                meta.update(_index=stored[vid]["_index"], if_seq_no=stored[vid]["_seq_no"],
                            if_primary_term=stored[vid]["_primary_term"])  # fmt: skip
                operations += [{"index": meta}, source]
            else:
                operations += [{"create": {**meta, "require_alias": True}}, source]
        response = es_call(lambda: self.es.bulk(operations=operations))
        conflicted: set[str] = set()
        for item in response["items"]:
            ((_, outcome),) = item.items()
            status = outcome.get("status", 500)
            if status == 409:
                conflicted.add(outcome["_id"])
            elif status in TRANSIENT_STATUSES or status == 404:
                raise ElasticUnavailable(f"version write refused: {status} {outcome.get('error', {}).get('type')}")
            elif status >= 300:
                log.error("version rejected", id=outcome.get("_id"), status=status, error=outcome.get("error"))
        return conflicted

    def purge(self, ad_key: str) -> int:
        """Delete the screenshots of every version of ``ad_key`` (flagged for escalation); returns
        how many versions lost theirs."""
        es_call(lambda: self.es.indices.refresh(index=self.alias))
        purged = 0
        while True:
            found = es_call(
                lambda: self.es.search(
                    index=self.alias,
                    query={"bool": {"filter": [{"term": {"ad_key": ad_key}}, {"exists": {"field": "captures.screenshot"}}]}},
                    size=PURGE_BATCH,
                    seq_no_primary_term=True,
                )
            )
            hits = found["hits"]["hits"]
            if not hits:
                break
            at = utcnow().isoformat()
            stored = {h["_id"]: h for h in hits}
            merged = {h["_id"]: without_screenshots(h["_source"], at)[0] for h in hits}
            self._delete_dropped({vid: h["_source"] for vid, h in stored.items()}, merged)
            if self._write(merged, stored):
                raise ElasticUnavailable(f"versions of {ad_key} changed while their screenshots were deleted")
            purged += len(hits)
            if len(hits) < PURGE_BATCH:
                break
            es_call(lambda: self.es.indices.refresh(index=self.alias))
        if purged:
            log.info("screenshots of an escalated ad deleted", ad_key=ad_key, versions=purged)
        return purged

    def _delete(self, name: str, sha256: str | None, ad_key: str, version: Any, where: str) -> None:
        """Delete one screenshot object and record it (deterministic audit id: retries add nothing)."""
        try:
            self.store.delete(name)
        except EvidenceError as exc:
            raise EvidenceUnavailable(f"cannot delete screenshot {name}: {exc}") from exc
        document = entry(
            DELETED_ACTION,
            self.who,
            {"ad_key": ad_key, "version": version, "screenshot": name, "screenshot_sha256": sha256,
             "reason": "escalated", "found_in": where},  # fmt: skip
        )
        try:
            es_call(lambda: self.es.create(index=self.audit, id=audit_id(name), document=document))
        except ConflictError:
            pass  # this deletion is already recorded
        log.info("screenshot deleted", ad_key=ad_key, screenshot=name, reason="escalated")
