"""Writes analysed ads, their entities and listing pages to Elasticsearch, idempotently.

No painless (Elastic's integ-test distribution has none), so no scripted upserts: each round reads
the current documents with one ``mget``, merges in Python and writes with one ``bulk`` under
optimistic concurrency (``if_seq_no``/``if_primary_term`` for documents that exist,
``op_type=create`` for new ones). A version conflict means another worker raced this one: those
documents are read and merged again. An ad remembers the last raw records merged into it
(``record_ids``), so a re-delivered record changes nothing and raises no event.

Most ads a worker meets are new, so an ad it knows nothing of is not read first: it is created
(``op_type=create``) as new, and its outcome is announced (``before_write``) once the create has
succeeded, instead of before the write like every other outcome. A create that conflicts means the
ad existed: it is read and merged like any conflict. When that stored ad was created by this very
record (a worker that died, or whose announcement failed, between the create and the announcement)
its ``ad.new`` is announced again, with the same event id, so no event is lost. An ad named twice
in one batch is read first as before (a later record's outcome depends on the first's).

The documents this worker read or wrote last (a partition always brings the same ads, and a phone
number comes back in ad after ad) are kept in a bounded LRU with their ``_seq_no``/``_primary_term``
and are not read again: the write's ``if_seq_no`` still checks them, so a copy another worker or
stage has changed since costs one 409 and a fresh read, never a lost update. Each bulk is
serialised once (pydantic-core's JSON encoder), which also gives its size.

Bounded (``LimitsSettings``): an ad document larger than ``document_bytes`` or with more than
``nested_objects`` entities is trimmed before it is merged; bulks are cut at ``bulk_bytes``, and a
bulk Elasticsearch refuses as too large (413) is split in halves and sent again. A document that
Elasticsearch refuses for good (a 400 mapping or parse error, a 413 on its own) comes back in
``IndexResult.rejected`` with its cause, so the caller can dead-letter that one record.
"""

from __future__ import annotations

import json
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import accumulate
from typing import Any, Literal

import structlog
from pydantic_core import from_json, to_json

from vigil.core.config import Indices, LimitsSettings
from vigil.core.consumer import Retriable
from vigil.core.metrics import BULK_LATENCY, ENRICH_ERRORS, LIMITS_HIT
from vigil.core.records import ENTITY_FIELDS, AdDocument, RawPage, doc_id

log = structlog.get_logger(__name__)

RECORD_HISTORY = 32
AD_KEYS_CAP = 1000
# Documents remembered per worker (ads carry their text: a few KB each; an entity at most
# AD_KEYS_CAP keys): bounded so that the worker's memory stays flat however large the index grows.
CACHED_ADS = 2000
CACHED_ENTITIES = 5000
CONFLICT_ROUNDS = 5
TRANSIENT_STATUSES = {429, 500, 502, 503, 504}
PAGE_FIELDS = (
    "record_id", "profile_id", "network", "job_id", "url", "canonical_url", "final_url", "page_type",
    "status", "content_type", "depth", "referrer", "render_mode", "body_sha256", "body_bytes",
    "truncated", "fetched_at",
)  # fmt: skip

Status = Literal["new", "changed", "seen", "stale", "duplicate", "reanalysed"]
IMAGE_FIELDS = {"images": [], "image_hashes": [], "ocr_text": ""}


class ElasticUnavailable(Retriable):
    """Elasticsearch cannot take the batch now (down, overloaded, alias missing): retry it later."""

    service = "Elasticsearch"


@dataclass
class Observation:
    """One analysed ad page; ``token`` is the caller's handle on the source record (for dead letters)."""

    doc: AdDocument
    token: Any = None


@dataclass
class Outcome:
    """What merging one observation did to its ad; ``document`` is the ad as written, ``previous``
    its source before (None for a new ad), from which ``pipelines.versions`` takes the diff."""

    observation: Observation
    status: Status
    document: AdDocument | None = None
    previous: dict[str, Any] | None = None


@dataclass
class Rejection:
    """An ad Elasticsearch refused for good: dead-letter its record, do not retry it."""

    observation: Observation
    error_type: str
    error: str
    status: int = 400

    @property
    def record_id(self) -> str | None:
        return self.observation.doc.record_id


@dataclass
class IndexResult:
    outcomes: list[Outcome] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    pages: int = 0

    @property
    def failed(self) -> dict[str | None, str]:
        """record id -> cause (``type: reason``) of every record refused for good."""
        return {r.record_id: f"{r.error_type}: {r.error}" for r in self.rejected}


def _when(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def _not_after(a: Any, b: Any) -> bool:
    """a <= b; UTC timestamps written alike compare as text (most calls: no parsing)."""
    if isinstance(a, str) and isinstance(b, str) and len(a) == len(b):
        for utc in ("Z", "+00:00"):
            if a.endswith(utc) and b.endswith(utc):
                return a <= b
    return _when(a) <= _when(b)


def earliest(a: Any, b: Any) -> Any:
    return a if b is None or (a is not None and _not_after(a, b)) else b


def latest(a: Any, b: Any) -> Any:
    return a if b is None or (a is not None and _not_after(b, a)) else b


def new_ad(doc: AdDocument) -> AdDocument:
    """An ad seen for the first time: the observation plus its counters."""
    return doc.model_copy(
        update={"first_seen": doc.fetched_at, "last_seen": doc.fetched_at, "seen_count": 1,
                "record_ids": [doc.record_id]}
    )  # fmt: skip


def merge_ad(existing: dict[str, Any] | None, doc: AdDocument) -> tuple[dict[str, Any] | None, Status]:
    """The ad source to write after observing ``doc`` (None: nothing to write) and what happened.

    first_seen is kept, last_seen and seen_count move on; content comes from the newest fetch, so
    a late re-delivery of an older page does not overwrite newer content ("stale").
    """
    if existing is None:
        return new_ad(doc).model_dump(mode="json"), "new"
    incoming = doc.model_dump(mode="json")
    seen_at = incoming["fetched_at"]
    record_ids = list(existing.get("record_ids") or [])
    older = existing.get("fetched_at") and seen_at and _when(seen_at) < _when(existing["fetched_at"])
    if doc.record_id in record_ids:
        if older or existing.get("analyzer_version") == doc.analyzer_version:
            return None, "duplicate"
        # The ad's newest record analysed again by another analyser version (a replay after an
        # upgrade): its content is replaced in place; it was counted when it first arrived.
        kept = {name: existing.get(name) for name in ("first_seen", "last_seen", "seen_count", "record_ids")}
        kept["version"] = existing.get("version") or 1
        return keep_image_findings(existing, {**incoming, **kept}), "reanalysed"
    counters = {
        "first_seen": earliest(existing.get("first_seen"), seen_at),
        "last_seen": latest(existing.get("last_seen"), seen_at),
        "seen_count": int(existing.get("seen_count") or 0) + 1,
        "record_ids": [*record_ids, doc.record_id][-RECORD_HISTORY:],
    }
    if existing.get("network_id"):
        counters["network_id"] = existing["network_id"]  # owned by the network worker
    if older:
        return {**existing, **counters}, "stale"
    status: Status = "changed" if incoming["content_hash"] != existing.get("content_hash") else "seen"
    counters["version"] = int(existing.get("version") or 1) + (status == "changed")
    return keep_image_findings(existing, {**incoming, **counters}), status


def keep_image_findings(existing: dict[str, Any], merged: dict[str, Any]) -> dict[str, Any]:
    """The image worker's findings (docs/images.md) survive a new fetch of the ad's text: its
    fields, and its ``source: image`` entities with their values in the entity lists. The image
    worker replaces them when it handles the ad's event."""
    for name, empty in IMAGE_FIELDS.items():
        merged[name] = existing.get(name) or empty
    found = [e for e in existing.get("entities") or [] if e.get("source") == "image"]
    if found:
        merged["entities"] = [
            *(e for e in merged.get("entities") or [] if e.get("source") != "image"),
            *found,
        ]
        for entity in found:
            attribute = ENTITY_FIELDS.get(entity["type"])
            if attribute and entity["value"] not in merged.get(attribute, []):
                merged[attribute] = [*merged.get(attribute, []), entity["value"]]
    return merged


def entity_refs(doc: AdDocument) -> dict[str, dict[str, Any]]:
    """entity id (``type:value``) -> type, value, kind of every entity the ad names."""
    refs: dict[str, dict[str, Any]] = {}
    for entity in doc.entities:
        refs.setdefault(
            f"{entity.type}:{entity.value}", {"type": entity.type, "value": entity.value, "kind": entity.kind}
        )
    for kind, attribute in (*ENTITY_FIELDS.items(), ("url", "urls")):
        for value in getattr(doc, attribute):
            refs.setdefault(f"{kind}:{value}", {"type": kind, "value": value, "kind": None})
    return refs


def merge_entity(
    existing: dict[str, Any] | None, ref: dict[str, Any], *docs: AdDocument
) -> dict[str, Any] | None:
    """The entity source after ``docs`` named it (None: nothing changed). Unions and min/max only,
    so replaying an observation is harmless. ``ad_count`` counts distinct ads exactly up to
    ``AD_KEYS_CAP`` remembered keys; past it, an ad forgotten from the list would count again.
    All the ads of a batch that name an entity are merged in one call: a hub value's key list is
    then scanned and copied once per batch, not once per ad."""
    entity = dict(
        existing
        or {
            "type": ref["type"],
            "value": ref["value"],
            "kind": ref["kind"],
            "ad_count": 0,
            "ad_keys": [],
            "sites": [],
            "countries": [],
            "networks": [],
        }
    )
    changed = existing is None
    if not entity.get("kind") and ref["kind"]:
        entity["kind"] = ref["kind"]
        changed = True
    known = set(entity["ad_keys"])
    added = [key for key in dict.fromkeys(doc.ad_key for doc in docs) if key not in known]
    if added:
        entity["ad_keys"] = [*entity["ad_keys"], *added][-AD_KEYS_CAP:]
        entity["ad_count"] = int(entity.get("ad_count") or 0) + len(added)
        changed = True
    for attribute, name in (("sites", "profile_id"), ("countries", "country"), ("networks", "network")):
        values = entity.get(attribute, [])
        new = [v for v in dict.fromkeys(getattr(doc, name) for doc in docs) if v and v not in values]
        if new:
            entity[attribute] = [*values, *new]
            changed = True
    first, last = entity.get("first_seen"), entity.get("last_seen")
    for doc in docs:
        seen_at = doc.fetched_at.isoformat() if doc.fetched_at else None
        first, last = earliest(first, seen_at), latest(last, seen_at)
    changed = changed or first != entity.get("first_seen") or last != entity.get("last_seen")
    entity["first_seen"], entity["last_seen"] = first, last
    return entity if changed else None


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8"))


def bounded_document(doc: AdDocument, limits: LimitsSettings) -> AdDocument:
    """``doc`` within ``nested_objects`` entities and about ``document_bytes``: metadata goes
    first, then the end of the text (with the entity spans in it; the flat value lists stay), then
    entity spans by halves, then evidence. What applied is added to ``truncated_by``."""
    cut: list[str] = []
    update: dict[str, Any] = {}
    if len(doc.entities) > limits.nested_objects:
        update["entities"] = doc.entities[: limits.nested_objects]
        cut.append("nested_objects")
    size = len((doc.model_copy(update=update) if update else doc).to_bytes())
    if size > limits.document_bytes:
        cut.append("document_bytes")
        for reduce in _REDUCERS:
            current = doc.model_copy(update=update)
            update.update(reduce(current, size - limits.document_bytes))
            size = len(doc.model_copy(update=update).to_bytes())
            if size <= limits.document_bytes:
                break
    if not cut:
        return doc
    for limit in cut:
        LIMITS_HIT.labels(limit).inc()
        log.warning("ad document trimmed", limit=limit, ad_key=doc.ad_key, record_id=doc.record_id)
    truncated_by = sorted({*doc.truncated_by, *cut})
    return doc.model_copy(update={**update, "analysis_truncated": True, "truncated_by": truncated_by})


def _drop_metadata(doc: AdDocument, excess: int) -> dict[str, Any]:
    return {"metadata": {}}


def _shorten_text(doc: AdDocument, excess: int) -> dict[str, Any]:
    keep = max(0, len(doc.text) - excess - 1024)  # a character is at least one byte
    return {"text": doc.text[:keep], "entities": [e for e in doc.entities if e.end <= keep]}


def _halve_entities(doc: AdDocument, excess: int) -> dict[str, Any]:
    sizes = list(accumulate(_size(e.model_dump()) for e in doc.entities))
    keep = len(sizes)
    while keep and sizes[keep - 1] > sizes[-1] - excess:
        keep //= 2
    return {"entities": doc.entities[:keep]}


def _drop_evidence(doc: AdDocument, excess: int) -> dict[str, Any]:
    return {"indicators": [hit.model_copy(update={"evidence": []}) for hit in doc.indicators]}


def _shorten_lists(doc: AdDocument, excess: int) -> dict[str, Any]:
    names = ("image_urls", "urls", "phones", "emails", "wallets", "handles", "onions", "title")
    return {name: getattr(doc, name)[:100] for name in names}


_REDUCERS = (_drop_metadata, _shorten_text, _halve_entities, _drop_evidence, _shorten_lists)


def page_source(page: RawPage) -> dict[str, Any]:
    """The metadata of a listing page kept in the pages index (never its body)."""
    dumped = page.model_dump(mode="json", include=set(PAGE_FIELDS))
    return {name: dumped.get(name) for name in PAGE_FIELDS}


@dataclass
class Stored:
    """A document as stored, with what a conditional write of it needs (seq_no, primary_term).
    What this worker wrote is kept as the JSON it sent and parsed again when a merge needs it:
    bytes are not tracked by the garbage collector, which otherwise walks every nested list and
    dict of the remembered documents on each collection."""

    index: str
    seq_no: int
    primary_term: int
    body: dict[str, Any] | bytes

    @property
    def source(self) -> dict[str, Any]:
        return from_json(self.body) if isinstance(self.body, bytes) else self.body


class _Written:
    """Least-recently-used map of document id -> the document as this worker last read or wrote it."""

    def __init__(self, size: int):
        self.size = size
        self.items: OrderedDict[str, Stored] = OrderedDict()

    def get(self, key: str) -> Stored | None:
        stored = self.items.get(key)
        if stored is not None:
            self.items.move_to_end(key)
        return stored

    def put(self, key: str, stored: Stored) -> None:
        self.items[key] = stored
        self.items.move_to_end(key)
        while len(self.items) > self.size:
            self.items.popitem(last=False)

    def forget(self, key: str) -> None:
        self.items.pop(key, None)


def _as_document(doc: AdDocument, source: dict[str, Any] | None, status: Status) -> AdDocument | None:
    """The ad as written, for the statuses that raise events (a new ad is the observation plus its
    counters: no need to validate its source again)."""
    if status == "new":
        return new_ad(doc)
    return AdDocument.model_validate(source) if status == "changed" else None


@dataclass
class _Write:
    """One document to write, and the observations whose fate depends on it."""

    kind: Literal["ad", "entity"]
    key: str
    index: str
    source: dict[str, Any] | bytes  # bytes: a new ad, serialised once from its document
    stored: Stored | None
    observations: list[Observation]

    def merged(self) -> dict[str, Any]:
        return from_json(self.source) if isinstance(self.source, bytes) else self.source

    def body(self) -> bytes:
        return self.source if isinstance(self.source, bytes) else to_json(self.source)


@dataclass
class _Plan:
    writes: list[_Write]
    outcomes: list[Outcome]
    created: set[int] = field(default_factory=set)  # observations announced after their ad's create


class Indexer:
    """Merges a batch of observations into the ads and entities aliases."""

    def __init__(self, es, indices: Indices, limits: LimitsSettings | None = None):
        self.es = es
        self.indices = indices
        self.limits = limits or LimitsSettings()
        self.written = {"ad": _Written(CACHED_ADS), "entity": _Written(CACHED_ENTITIES)}

    def index(
        self,
        observations: list[Observation],
        listings: Iterable[RawPage] = (),
        before_write: Callable[[list[Outcome]], None] | None = None,
    ) -> IndexResult:
        """Merge and write; ``before_write`` sees each round's outcomes before the bulk (events go
        out first so that a crash after the write cannot lose them). Raises ElasticUnavailable."""
        result = IndexResult()
        page_ops = self._page_ops(listings)
        for observation in observations:
            observation.doc = bounded_document(observation.doc, self.limits)
        pending = list(observations)
        settled: set[int] = set()  # observations whose ad is written: only their entities may be retried
        reread: set[str] = set()  # ads whose create conflicted: they exist, read them
        for _ in range(CONFLICT_ROUNDS):
            if not pending and not page_ops:
                return result
            plan = self._plan(pending, settled, reread)
            if before_write is not None:
                before_write([o for o in plan.outcomes if id(o.observation) not in plan.created])
            ad_conflicts, entity_conflicts, rejected, pages_written = self._write(plan.writes, page_ops)
            result.pages += pages_written
            page_ops = []
            result.rejected += rejected
            unsettled = {id(r.observation) for r in rejected} | {id(o) for o in ad_conflicts}
            done = [o for o in plan.outcomes if id(o.observation) not in unsettled]
            self._announce_created([o for o in done if id(o.observation) in plan.created], before_write)
            result.outcomes += done
            settled |= {id(o.observation) for o in done}
            reread |= {doc_id(o.doc.ad_key) for o in ad_conflicts if id(o) in plan.created}
            rejected_ids = {id(r.observation) for r in rejected}
            pending = list(
                {id(o): o for o in (*ad_conflicts, *entity_conflicts) if id(o) not in rejected_ids}.values()
            )
            raced = [o for o in pending if id(o) not in plan.created]
            if raced:
                ENRICH_ERRORS.labels(cause="version_conflict").inc(len(raced))
                log.info("version conflict, merging again", observations=len(raced))
        if pending:
            raise ElasticUnavailable(f"version conflicts persisted over {CONFLICT_ROUNDS} rounds")
        return result

    def _announce_created(
        self, created: list[Outcome], before_write: Callable[[list[Outcome]], None] | None
    ) -> None:
        """Announce ads just created; if that fails, forget them, so that the retried batch finds
        them by a conflicting create and announces them again."""
        if not created or before_write is None:
            return
        try:
            before_write(created)
        except BaseException:
            for outcome in created:
                self.written["ad"].forget(doc_id(outcome.observation.doc.ad_key))
            raise

    def _page_ops(self, listings: Iterable[RawPage]) -> list[dict[str, Any]]:
        ops: list[dict[str, Any]] = []
        for page in listings:
            ops += [
                {"index": {"_index": self.indices.pages, "_id": doc_id(page.canonical_url)}},
                page_source(page),
            ]
        return ops

    def _read(
        self, ad_ids: Iterable[str], entity_ids: Iterable[str]
    ) -> tuple[dict[str, Stored], dict[str, Stored]]:
        wanted = [(self.indices.ads, i) for i in ad_ids] + [(self.indices.entities, i) for i in entity_ids]
        if not wanted:
            return {}, {}
        response = self._call(
            lambda: self.es.mget(docs=[{"_index": a, "_id": i} for a, i in wanted], realtime=True)
        )
        found: dict[str, dict[str, Stored]] = {self.indices.ads: {}, self.indices.entities: {}}
        for (alias, _), item in zip(wanted, response["docs"], strict=True):
            if "error" in item:
                reason = item["error"].get("reason") if isinstance(item["error"], dict) else item["error"]
                raise ElasticUnavailable(f"cannot read {alias}: {reason} (did `vigil init` run?)")
            if item.get("found"):
                found[alias][item["_id"]] = Stored(
                    item["_index"], item["_seq_no"], item["_primary_term"], item["_source"]
                )
        return found[self.indices.ads], found[self.indices.entities]

    def _plan(
        self,
        observations: list[Observation],
        settled: frozenset[int] | set[int] = frozenset(),
        reread: frozenset[str] | set[str] = frozenset(),
    ) -> _Plan:
        """Merges and writes for ``observations``; those in ``settled`` (ids) have their ad written
        already (an entity of theirs conflicted): only their entities are merged again. An ad this
        worker does not remember is created unread, unless it is in ``reread`` or named twice."""
        refs = {obs_id: entity_refs(o.doc) for obs_id, o in enumerate(observations)}
        named = Counter(doc_id(o.doc.ad_key) for o in observations if id(o) not in settled)
        entity_ids = {doc_id(e) for r in refs.values() for e in r}
        known_ads = {i: s for i in named if (s := self.written["ad"].get(i))}
        known_entities = {i: s for i in entity_ids if (s := self.written["entity"].get(i))}
        unknown = set(named) - set(known_ads)
        to_read = {i for i in unknown if i in reread or named[i] > 1}
        stored_ads, stored_entities = self._read(sorted(to_read), sorted(entity_ids - set(known_entities)))
        for kind, read in (("ad", stored_ads), ("entity", stored_entities)):
            for key, stored in read.items():
                self.written[kind].put(key, stored)
        stored_ads.update(known_ads)
        stored_entities.update(known_entities)

        ads: dict[str, _Write] = {}
        entities: dict[str, _Write] = {}
        outcomes: list[Outcome] = []
        created: set[int] = set()
        # entity id -> its reference and the observations naming it (merged in one call)
        named: dict[str, tuple[dict[str, Any], list[Observation]]] = {}
        for n, obs in enumerate(observations):
            if id(obs) not in settled:
                key = doc_id(obs.doc.ad_key)
                outcomes.append(self._plan_ad(obs, ads, stored_ads, key in reread))
                if key in unknown and key not in to_read:
                    created.add(id(obs))
            for entity_key, ref in refs[n].items():
                named.setdefault(doc_id(entity_key), (ref, []))[1].append(obs)
        for eid, (ref, named_by) in named.items():
            estored = stored_entities.get(eid)
            merged = merge_entity(estored.source if estored else None, ref, *(o.doc for o in named_by))
            if merged is not None:
                index = estored.index if estored else self.indices.entities
                entities[eid] = _Write("entity", eid, index, merged, estored, named_by)
        return _Plan([*ads.values(), *entities.values()], outcomes, created)

    def _plan_ad(
        self, obs: Observation, ads: dict[str, _Write], stored_ads: dict[str, Stored], recreated: bool
    ) -> Outcome:
        """``recreated``: this ad was created unread and its create conflicted."""
        key = doc_id(obs.doc.ad_key)
        write = ads.get(key)
        stored = stored_ads.get(key)
        current = write.merged() if write else (stored.source if stored else None)
        if current is None:
            # Most ads a worker meets are new: serialised straight from the document to the
            # bulk's JSON, without the dictionary merge_ad would build first.
            document = new_ad(obs.doc)
            ads[key] = _Write("ad", key, self.indices.ads, to_json(document), None, [obs])
            return Outcome(obs, "new", document, None)
        source, status = merge_ad(current, obs.doc)
        created_by_this_record = bool(current) and current.get("record_ids") == [obs.doc.record_id]
        if status == "duplicate" and recreated and created_by_this_record:
            status = "new"  # this record created the ad, and its announcement may never have gone out
        if source is not None:
            if write is None:
                index = stored.index if stored else self.indices.ads
                write = ads[key] = _Write("ad", key, index, source, stored, [])
            write.source = source
            write.observations.append(obs)
        return Outcome(obs, status, _as_document(obs.doc, source, status), current)

    def _write(
        self, writes: list[_Write], page_ops: list[dict[str, Any]]
    ) -> tuple[list[Observation], list[Observation], list[Rejection], int]:
        """Bulk the writes; (observations of conflicted ads, of conflicted entities, rejections,
        pages written)."""
        actions: list[dict[str, Any]] = []
        sources: list[bytes] = []
        for write in writes:
            meta: dict[str, Any] = {"_index": write.index, "_id": write.key}
            if write.stored is None:
                actions.append({"create": meta})
            else:
                meta.update(if_seq_no=write.stored.seq_no, if_primary_term=write.stored.primary_term)
                actions.append({"index": meta})
            sources.append(write.body())
        for n in range(0, len(page_ops), 2):
            actions.append(page_ops[n])
            sources.append(to_json(page_ops[n + 1]))
        if not actions:
            return [], [], [], 0
        pairs = [
            (action, to_json(action) + b"\n" + source + b"\n")
            for action, source in zip(actions, sources, strict=True)
        ]
        items = [item for chunk in self._chunks(pairs) for item in self._bulk(chunk)]

        conflicted: dict[str, dict[int, Observation]] = {"ad": {}, "entity": {}}
        rejected: dict[int, Rejection] = {}
        transient: list[str] = []
        pages_written = 0
        for n, item in enumerate(items):
            ((action, outcome),) = item.items()
            status = outcome.get("status", 500)
            write = writes[n] if n < len(writes) else None
            if status < 300:
                pages_written += write is None
                if write is not None:
                    self.written[write.kind].put(
                        write.key,
                        Stored(outcome["_index"], outcome["_seq_no"], outcome["_primary_term"], sources[n]),
                    )
                continue
            if write is not None:
                self.written[write.kind].forget(write.key)
            error = outcome.get("error", {})
            if status == 409 and write is not None:
                conflicted[write.kind].update({id(o): o for o in write.observations})
            elif status in TRANSIENT_STATUSES:
                transient.append(f"{status} {error.get('type')}")
            elif write is not None and write.kind == "ad":
                for obs in write.observations:
                    rejected[id(obs)] = Rejection(
                        obs, error.get("type", "rejected"), f"{status}: {error.get('reason')}", status
                    )
            else:
                cause = "entity_rejected" if write is not None else "page_rejected"
                ENRICH_ERRORS.labels(cause=cause).inc()
                log.error("document rejected", kind=cause, id=outcome.get("_id"), status=status, error=error)
        if transient:
            raise ElasticUnavailable(f"bulk items refused: {', '.join(sorted(set(transient)))}")
        return (
            list(conflicted["ad"].values()),
            list(conflicted["entity"].values()),
            list(rejected.values()),
            pages_written,
        )

    def _chunks(
        self, pairs: list[tuple[dict[str, Any], bytes]]
    ) -> Iterator[list[tuple[dict[str, Any], bytes]]]:
        """Consecutive (action, serialised action and source) pairs, each run no larger than
        ``bulk_bytes`` (one pair alone may be)."""
        chunk: list[tuple[dict[str, Any], bytes]] = []
        size = 0
        for pair in pairs:
            pair_size = len(pair[1])
            if chunk and size + pair_size > self.limits.bulk_bytes:
                LIMITS_HIT.labels("bulk_bytes").inc()
                yield chunk
                chunk, size = [], 0
            chunk.append(pair)
            size += pair_size
        if chunk:
            yield chunk

    def _bulk(self, pairs: list[tuple[dict[str, Any], bytes]]) -> list[dict[str, Any]]:
        """The bulk's items, in order. A 413 (the request is over the server's
        ``http.max_content_length``) splits it in halves; one document that is still too large
        gets a 413 item of its own, which rejects that document only."""
        from elasticsearch import ApiError

        started = time.perf_counter()
        try:
            response = self._call(lambda: self.es.bulk(operations=b"".join(pair[1] for pair in pairs)))
        except ApiError as exc:
            if exc.meta.status != 413:
                raise
            LIMITS_HIT.labels("bulk_413").inc()
            if len(pairs) == 1:
                action, meta = next(iter(pairs[0][0].items()))
                error = {
                    "type": "request_too_large",
                    "reason": "the document alone exceeds the server's request limit",
                }
                return [
                    {
                        action: {
                            "_index": meta.get("_index"),
                            "_id": meta.get("_id"),
                            "status": 413,
                            "error": error,
                        }
                    }
                ]
            log.warning("bulk refused as too large (413); splitting it", operations=len(pairs))
            half = len(pairs) // 2
            return self._bulk(pairs[:half]) + self._bulk(pairs[half:])
        BULK_LATENCY.observe(time.perf_counter() - started)
        return response["items"]

    def check(self) -> None:
        """Raise ElasticUnavailable unless the cluster answers (``GET /`` may not exist: use health)."""
        self._call(lambda: self.es.cluster.health(timeout="5s"))

    def _call(self, request: Callable[[], Any]) -> Any:
        return es_call(request)


def es_call(request: Callable[[], Any]) -> Any:
    """Run one request, turning 'cannot now' failures into ElasticUnavailable."""
    from elasticsearch import ApiError, TransportError

    try:
        return request()
    except TransportError as exc:
        raise ElasticUnavailable(f"{type(exc).__name__}: {exc}") from exc
    except ApiError as exc:
        if exc.meta.status in TRANSIENT_STATUSES or exc.meta.status == 404:
            raise ElasticUnavailable(f"HTTP {exc.meta.status}: {exc.message}") from exc
        raise
