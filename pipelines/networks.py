"""Networks: ads linked across the corpus by shared strong entities and near-duplicate text.

One ``Linker`` observes ads one at a time, in one order (the network worker, one consumer of the
network-links topic), over a ``Store`` of state documents: a *member* per ad (its features and its
links with their evidence), a *posting* per entity value or LSH band (the ads naming it) and a
*site* per profile (its shingle document frequencies, for boilerplate).

Links are stored with their evidence and never forgotten; which of them *count* is decided again,
from the stored links and current statistics, whenever a network is touched:

* a shared entity value counts, unless it is a hub: listed in ``hub_values``, a placeholder
  (``placeholder``), a site's own line (on ``hub_site_min_ads`` of a site's ads or more and on
  ``hub_site_share`` of them), or on more than ``hub_max_ads`` ads; a hub value counts only
  together with similar text (a second signal);
* text similarity is Jaccard over the two ads' shingles minus their sites' boilerplate (shingles
  on many of a site's ads); at ``strong_similarity`` it links like an entity, at
  ``weak_similarity`` it links unless both sides already are large networks and only one weak
  link joins them.

A network's id derives from its representative, the member seen first (ties: the smallest ad
key), so the ids depend only on the set of links and members, not on the order ads arrived in:
several enrich workers, or a replay of the raw topic, give the same ids.
"""

from __future__ import annotations

import hashlib
import re
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pipelines.near_duplicates import MIN_TOKENS, shingles, template_tokens
from vigil.core.config import NetworksSettings
from vigil.core.records import AdDocument, LinkRecord

MAX_SHINGLES = 1000
MAX_LINKS = 300
MAX_POSTING = 1000
MAX_POSTING_SITES = 100
MAX_NETWORK_MEMBERS = 10000
MAX_NETWORK_LINKS = 500
MAX_NETWORK_ENTITIES = 200
MAX_HISTORY = 200
DF_TABLE = 20000
MAX_SITE_LINKED = 5000
SIMILARITY_CACHE = 500000

MEMBER, POSTING, SITE, NETWORK = "member", "posting", "site", "network"


PLACEHOLDER_LOCAL_PARTS = frozenset(
    {"test", "example", "email", "mail", "name", "user", "your", "youremail", "yourname", "noreply",
     "no-reply", "donotreply", "none", "null", "admin", "abuse", "postmaster", "webmaster"}
)  # fmt: skip
_REPEATED_RE = re.compile(r"^(.)\1*$")


def placeholder(name: str) -> bool:
    """A value no advertiser really uses: a phone whose last seven digits are one digit repeated
    (+49 151 11111111, +1 702 000 0000), an address like test@..., noreply@... or xxx@xxx.com.
    Such a value is a hub from its first ad: it never links alone."""
    kind, _, value = name.partition(":")
    if kind == "phone":
        digits = re.sub(r"\D", "", value)
        return len(digits) >= 7 and len(set(digits[-7:])) == 1
    if kind == "email":
        local, _, domain = value.casefold().partition("@")
        host = domain.split(".")[0]
        return (
            local in PLACEHOLDER_LOCAL_PARTS
            or bool(_REPEATED_RE.match(local))
            or bool(_REPEATED_RE.match(host))
        )
    return False


def network_id(representative: str) -> str:
    return "net-" + hashlib.sha1(representative.encode("utf-8")).hexdigest()[:16]


def band_keys(signature: list[int], bands: int, rows: int) -> list[str]:
    """One key per LSH band of the stored MinHash: ads sharing a key are text candidates."""
    if len(signature) < bands * rows:
        return []
    keys = []
    for band in range(bands):
        chunk = signature[band * rows : (band + 1) * rows]
        digest = hashlib.sha1(struct.pack(f"<{rows}Q", *chunk)).hexdigest()[:16]
        keys.append(f"band:{band}:{digest}")
    return keys


def shingle_hashes(title: str, text: str) -> list[int]:
    """32-bit hashes of the templated shingles the MinHash was built on (same text choice)."""
    body = text if len(template_tokens(text)) >= MIN_TOKENS else f"{title}\n{text}"
    hashes = sorted({zlib.crc32(s.encode("utf-8")) for s in shingles(body)})
    return hashes[:MAX_SHINGLES]


def entity_keys(doc: AdDocument, types: Iterable[str]) -> dict[str, list[str]]:
    """type -> normalised values of the linking entity types (data-driven: any type in ``types``)."""
    wanted = set(types)
    found: dict[str, set[str]] = {}
    for kind, values in doc.entity_values().items():
        if kind in wanted:
            found.setdefault(kind, set()).update(values)
    for entity in doc.entities:
        if entity.type in wanted and entity.value:
            found.setdefault(entity.type, set()).add(entity.value)
    return {kind: sorted(values) for kind, values in sorted(found.items()) if values}


def link_record(doc: AdDocument, settings: NetworksSettings) -> LinkRecord:
    """What an enrich worker publishes for a new or changed ad."""
    return LinkRecord(
        ad_key=doc.ad_key,
        record_id=doc.record_id,
        profile_id=doc.profile_id,
        country=doc.country,
        url=doc.url,
        title=doc.title[:300],
        seen_at=doc.first_seen or doc.fetched_at,
        entities=entity_keys(doc, settings.entity_types),
        bands=band_keys(doc.signature, settings.bands, settings.rows),
        shingles=shingle_hashes(doc.title, doc.text),
    )


class Store(Protocol):
    """State documents by kind and id; reads see this linker's own writes."""

    def get(self, kind: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]: ...

    def put(self, kind: str, id: str, doc: dict[str, Any]) -> None: ...

    def delete(self, kind: str, id: str) -> None: ...


class MemoryStore:
    """The Store of the evaluation and unit tests (the worker's is in pipelines.network_worker)."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, dict[str, Any]]] = {}

    def get(self, kind: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        table = self.docs.get(kind, {})
        return {i: table[i] for i in ids if i in table}

    def put(self, kind: str, id: str, doc: dict[str, Any]) -> None:
        self.docs.setdefault(kind, {})[id] = doc

    def delete(self, kind: str, id: str) -> None:
        self.docs.get(kind, {}).pop(id, None)


@dataclass
class Change:
    """What observing one ad changed: ad -> network id to write, network documents, events."""

    assignments: dict[str, str] = field(default_factory=dict)
    networks: dict[str, dict[str, Any]] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Verdict:
    """Whether one stored link counts, and why (in words, for the evidence)."""

    strength: str  # "strong", "weak" or ""
    reason: str


class Linker:
    def __init__(self, store: Store, settings: NetworksSettings):
        self.store = store
        self.settings = settings
        self.hub_values = set(settings.hub_values)
        self._similarities: dict[tuple[Any, ...], float] = {}
        self._boilerplates: dict[str, tuple[dict[str, Any], frozenset[int]]] = {}

    # -- observing ----------------------------------------------------------------------------

    def observe(self, record: LinkRecord) -> Change:
        """Add or update one ad, link it to its candidates and re-derive the networks it touches."""
        key = record.ad_key
        stored = self.store.get(MEMBER, [key]).get(key)
        entities = sorted(f"{kind}:{value}" for kind, values in record.entities.items() for value in values)
        seen_at = record.seen_at.isoformat() if record.seen_at else ""
        member = (
            dict(stored)
            if stored
            else {"ad_key": key, "links": [], "network_id": None, "first_seen": seen_at}
        )
        unchanged = stored is not None and (
            stored.get("entities") == entities
            and stored.get("bands") == record.bands
            and stored.get("shingles") == record.shingles
            and stored.get("profile_id") == record.profile_id
            and stored.get("country") == record.country
        )
        if stored and seen_at:
            member["first_seen"] = min(filter(None, [stored.get("first_seen"), seen_at]))
        member["last_seen"] = max(filter(None, [(stored or {}).get("last_seen"), seen_at]), default=seen_at)
        member.update(url=record.url, title=record.title)
        if unchanged and member.get("first_seen") == stored.get("first_seen"):
            self.store.put(MEMBER, key, member)
            return Change(assignments={key: member["network_id"]} if member.get("network_id") else {})
        boilerplate_moved = self._count_site(record.profile_id, stored, record)
        member.update(
            profile_id=record.profile_id,
            country=record.country,
            entities=entities,
            bands=list(record.bands),
            shingles=list(record.shingles),
            shingle_hash=zlib.crc32(struct.pack(f"<{len(record.shingles)}I", *record.shingles)),
        )
        self.store.put(MEMBER, key, member)
        crossed = self._post(key, record.profile_id, entities, record.bands)
        self._link(member)
        roots = {key}
        for posting in crossed:
            roots.update(posting.get("members", []))
        if boilerplate_moved:
            roots.update(self.store.get(SITE, [record.profile_id])[record.profile_id].get("linked", []))
        return self._rederive(roots, seen_at, record)

    def _count_site(self, profile_id: str, stored: dict[str, Any] | None, record: LinkRecord) -> bool:
        """Per-site shingle document frequencies (a changed ad's old shingles are taken back).

        ``frequent`` holds the shingles on at least ``boilerplate_min_ads`` of the site's ads, so
        the boilerplate is found without scanning the whole table. True when the site's
        boilerplate changed: its text links are then judged again."""
        empty = {"ads": 0, "df": {}, "frequent": {}, "linked": []}
        site = dict(self.store.get(SITE, [profile_id]).get(profile_id) or empty)
        before = self._site_boilerplate(site)
        df: dict[str, int] = dict(site["df"])
        frequent: dict[str, int] = dict(site["frequent"])
        touched: set[str] = set()
        if stored and stored.get("profile_id") == profile_id:
            for h in stored.get("shingles", []):
                name = str(h)
                touched.add(name)
                if df.get(name, 0) > 1:
                    df[name] -= 1
                else:
                    df.pop(name, None)
        else:
            site["ads"] += 1
        for h in record.shingles:
            name = str(h)
            touched.add(name)
            df[name] = df.get(name, 0) + 1
        if len(df) > DF_TABLE:
            df = dict(sorted(df.items(), key=lambda kv: (-kv[1], kv[0]))[: DF_TABLE // 2])
            touched = set(frequent) | touched
        for name in touched:
            if df.get(name, 0) >= self.settings.boilerplate_min_ads:
                frequent[name] = df[name]
            else:
                frequent.pop(name, None)
        site.update(df=df, frequent=frequent)
        self.store.put(SITE, profile_id, site)
        return self._site_boilerplate(site) != before

    def _post(self, key: str, profile_id: str, entities: list[str], bands: list[str]) -> list[dict[str, Any]]:
        """Add the ad to its postings (and count it for its site); returns the entity postings
        that just became hubs."""
        names = [*entities, *bands]
        postings = self.store.get(POSTING, names)
        crossed = []
        for name in names:
            before = postings.get(name) or {"members": [], "count": 0}
            if key in before["members"]:
                continue
            posting = dict(before)
            posting["count"] += 1
            if len(posting["members"]) < MAX_POSTING:
                posting["members"] = [*posting["members"], key]
            if not name.startswith("band:"):
                sites = dict(posting.get("sites") or {})
                if profile_id in sites or len(sites) < MAX_POSTING_SITES:
                    sites[profile_id] = sites.get(profile_id, 0) + 1
                posting["sites"] = sites
                if not self._hubs({name: before}) and self._hubs({name: posting}):
                    crossed.append(posting)
            self.store.put(POSTING, name, posting)
        return crossed

    def _link(self, member: dict[str, Any]) -> None:
        """Store a link with its evidence to every candidate sharing an entity or similar text."""
        key = member["ad_key"]
        postings = self.store.get(POSTING, [*member["entities"], *member["bands"]])
        via_entity: set[str] = set()
        via_band: set[str] = set()
        for name, posting in postings.items():
            if name.startswith("band:"):
                if posting["count"] <= self.settings.band_max_ads:
                    via_band.update(posting["members"])
            elif not (
                name in self.hub_values or placeholder(name) or posting["count"] > self.settings.hub_max_ads
            ):
                # a site's line is still a candidate (bounded by hub_max_ads): whether it is one
                # changes as the site grows, and its links are judged when the network is derived
                via_entity.update(posting["members"])
        candidates = (via_entity | via_band) - {key}
        others = self.store.get(MEMBER, sorted(candidates))
        boilerplate = self._boilerplate({member["profile_id"], *(o["profile_id"] for o in others.values())})
        mine = set(member["entities"])
        text_linked: dict[str, set[str]] = {}
        for other_key, other in others.items():
            shared = sorted(mine & set(other["entities"]))
            similarity = self._similarity(member, other, boilerplate)
            # kept when similar with or without today's boilerplate: which counts is decided later
            raw = self._similarity(member, other, {})
            if not shared and max(similarity, raw) < self.settings.weak_similarity:
                continue
            if max(similarity, raw) >= self.settings.weak_similarity:
                text_linked.setdefault(member["profile_id"], set()).add(key)
                text_linked.setdefault(other["profile_id"], set()).add(other_key)
            self._add_link(member, other_key, shared, similarity)
            updated = dict(other)
            self._add_link(updated, key, shared, similarity)
            self.store.put(MEMBER, other_key, updated)
        self.store.put(MEMBER, key, member)
        for profile, keys in text_linked.items():
            site = dict(self.store.get(SITE, [profile])[profile])
            linked = site.get("linked", [])
            fresh = sorted(keys - set(linked))
            if fresh:
                site["linked"] = [*linked, *fresh][-MAX_SITE_LINKED:]
                self.store.put(SITE, profile, site)

    @staticmethod
    def _add_link(member: dict[str, Any], other: str, shared: list[str], similarity: float) -> None:
        links = [link for link in member["links"] if link["ad"] != other]
        links.append({"ad": other, "entities": shared, "similarity": round(similarity, 3)})
        if len(links) > MAX_LINKS:
            links.sort(key=lambda link: (-len(link["entities"]), -link["similarity"], link["ad"]))
            links = links[:MAX_LINKS]
        member["links"] = sorted(links, key=lambda link: link["ad"])

    # -- deciding -----------------------------------------------------------------------------

    def _site_boilerplate(self, site: dict[str, Any]) -> frozenset[int]:
        floor = max(self.settings.boilerplate_min_ads, self.settings.boilerplate_ratio * site["ads"])
        return frozenset(int(h) for h, n in site.get("frequent", {}).items() if n >= floor)

    def _similarity(
        self, a: dict[str, Any], b: dict[str, Any], boilerplate: dict[str, frozenset[int]]
    ) -> float:
        """Jaccard of the two ads' shingles minus both sites' boilerplate (memoised: links are
        judged again on every change of their network)."""
        none: frozenset[int] = frozenset()
        bp_a, bp_b = boilerplate.get(a["profile_id"], none), boilerplate.get(b["profile_id"], none)
        key = (a["ad_key"], b["ad_key"], a.get("shingle_hash"), b.get("shingle_hash"), hash(bp_a), hash(bp_b))
        found = self._similarities.get(key)
        if found is None:
            found = self._jaccard(a, b, bp_a, bp_b)
            if len(self._similarities) > SIMILARITY_CACHE:
                self._similarities.clear()
            self._similarities[key] = found
        return found

    def _boilerplate(self, profiles: Iterable[str]) -> dict[str, frozenset[int]]:
        sites = self.store.get(SITE, sorted(set(profiles)))
        found = {}
        for profile, site in sites.items():
            cached = self._boilerplates.get(profile)
            if cached is None or cached[0] is not site:
                cached = self._boilerplates[profile] = (site, self._site_boilerplate(site))
            found[profile] = cached[1]
        return found

    def _jaccard(
        self, a: dict[str, Any], b: dict[str, Any], bp_a: frozenset[int], bp_b: frozenset[int]
    ) -> float:
        left = {h for h in a["shingles"] if h not in bp_a and h not in bp_b}
        right = {h for h in b["shingles"] if h not in bp_a and h not in bp_b}
        if len(left) < self.settings.min_shingles or len(right) < self.settings.min_shingles:
            return 0.0
        return len(left & right) / len(left | right)

    def _hubs(self, postings: dict[str, dict[str, Any]]) -> set[str]:
        """The entity postings that are hubs: configured, placeholders, a site's own line (on
        many of one site's ads: its support number), or on very many ads."""
        s = self.settings
        found = {name for name in postings if name in self.hub_values or placeholder(name)}
        found |= {
            name
            for name, p in postings.items()
            if not name.startswith("band:") and p["count"] > s.hub_max_ads
        }
        busy = {
            name: {site: n for site, n in (p.get("sites") or {}).items() if n >= s.hub_site_min_ads}
            for name, p in postings.items()
            if name not in found and not name.startswith("band:")
        }
        wanted = sorted({site for per_site in busy.values() for site in per_site})
        if wanted:
            sites = self.store.get(SITE, wanted)
            for name, per_site in busy.items():
                if any(
                    n >= s.hub_site_share * sites.get(site, {}).get("ads", n) for site, n in per_site.items()
                ):
                    found.add(name)
        return found

    def verdict(self, shared: list[str], similarity: float, hubs: set[str]) -> Verdict:
        s = self.settings
        plain = [e for e in shared if e not in hubs]
        if plain:
            return Verdict("strong", "shares " + ", ".join(plain))
        if similarity >= s.strong_similarity:
            return Verdict("strong", f"near-identical text (Jaccard {similarity:.2f})")
        if shared and similarity >= s.weak_similarity:
            return Verdict(
                "strong", f"shares hub value {', '.join(shared)} and similar text (Jaccard {similarity:.2f})"
            )
        if similarity >= s.weak_similarity:
            return Verdict("weak", f"similar text (Jaccard {similarity:.2f})")
        if shared:
            return Verdict("", f"only a hub value {', '.join(shared)}: needs a second signal")
        return Verdict("", "")

    def _closure(self, roots: set[str]) -> dict[str, dict[str, Any]]:
        """The members reachable from ``roots`` over stored links (bounded by max_component)."""
        found: dict[str, dict[str, Any]] = {}
        frontier = sorted(roots)
        while frontier and len(found) < self.settings.max_component:
            batch = self.store.get(MEMBER, frontier[: self.settings.max_component - len(found)])
            found.update(batch)
            frontier = sorted({link["ad"] for m in batch.values() for link in m["links"]} - found.keys())
        return found

    def _rederive(self, roots: set[str], seen_at: str, record: LinkRecord) -> Change:
        members = self._closure(roots)
        boilerplate = self._boilerplate(m["profile_id"] for m in members.values())
        postings = self.store.get(POSTING, sorted({e for m in members.values() for e in m["entities"]}))
        hubs = self._hubs(postings) | self.hub_values
        edges: list[tuple[str, str, Verdict, dict[str, Any]]] = []
        entity_sets = {key: set(m["entities"]) for key, m in members.items()}
        for a, member in sorted(members.items()):
            for link in member["links"]:
                b = link["ad"]
                if b <= a or b not in members:
                    continue
                similarity = self._similarity(member, members[b], boilerplate)
                # a value either ad no longer names (a changed ad, a photo found to be a logo) is no evidence
                shared = [e for e in link["entities"] if e in entity_sets[a] and e in entity_sets[b]]
                verdict = self.verdict(shared, similarity, hubs)
                if verdict.strength:
                    evidence = {"entities": shared, "similarity": round(similarity, 3)}
                    edges.append((a, b, verdict, evidence))
        components = self._components(members, edges)
        return self._apply(members, components, edges, seen_at, record)

    def _components(
        self, members: dict[str, dict[str, Any]], edges: list[tuple[str, str, Verdict, dict[str, Any]]]
    ) -> dict[str, str]:
        """ad -> representative: strong links first, then weak links under the large-network guard."""
        parent = {key: key for key in members}
        size = dict.fromkeys(members, 1)

        def rank(key: str) -> tuple[str, str]:
            return (members[key].get("first_seen") or "", key)

        def find(x: str) -> str:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        def union(a: str, b: str) -> None:
            ra, rb = find(a), find(b)
            if ra == rb:
                return
            if rank(rb) < rank(ra):
                ra, rb = rb, ra
            parent[rb] = ra
            size[ra] += size.pop(rb)

        for a, b, verdict, _ in edges:
            if verdict.strength == "strong":
                union(a, b)
        weak: dict[tuple[str, str], int] = {}
        for a, b, verdict, _ in edges:
            if verdict.strength == "weak":
                pair = tuple(sorted((find(a), find(b))))
                if pair[0] != pair[1]:
                    weak[pair] = weak.get(pair, 0) + 1
        large = self.settings.large_network
        for (a, b), count in sorted(weak.items(), key=lambda kv: (-kv[1], kv[0])):
            ra, rb = find(a), find(b)
            if ra == rb:
                continue
            if size[ra] >= large and size[rb] >= large and count < 2:
                continue
            union(ra, rb)
        return {key: find(key) for key in members}

    # -- writing ------------------------------------------------------------------------------

    def _apply(
        self,
        members: dict[str, dict[str, Any]],
        components: dict[str, str],
        edges: list[tuple[str, str, Verdict, dict[str, Any]]],
        seen_at: str,
        record: LinkRecord,
    ) -> Change:
        change = Change()
        groups: dict[str, list[str]] = {}
        for key, root in components.items():
            groups.setdefault(root, []).append(key)
        before = {m.get("network_id") for m in members.values()} - {None}
        for root, keys in groups.items():
            nid = network_id(root)
            for key in keys:
                member = members[key]
                if member.get("network_id") != nid:
                    member = {**member, "network_id": nid}
                    members[key] = member
                    self.store.put(MEMBER, key, member)
                    change.assignments[key] = nid
        after = {network_id(root): sorted(keys) for root, keys in groups.items()}
        previous = self.store.get(NETWORK, sorted(before | after.keys()))
        for nid in sorted(before - after.keys()):
            if nid in previous:
                self.store.delete(NETWORK, nid)
                change.removed.add(nid)
        for nid, keys in sorted(after.items()):
            old = previous.get(nid)
            if len(keys) < 2:
                if old:
                    self.store.delete(NETWORK, nid)
                    change.removed.add(nid)
                continue
            mine = [e for e in edges if components[e[0]] == components[keys[0]]]
            doc = self._network_doc(nid, keys, members, mine, old, seen_at)
            if old and old.get("members") == doc["members"] and old.get("links") == doc["links"]:
                continue
            self.store.put(NETWORK, nid, doc)
            change.networks[nid] = doc
            change.events += self._events(nid, doc, old, members, record)
        return change

    def _network_doc(
        self,
        nid: str,
        keys: list[str],
        members: dict[str, dict[str, Any]],
        edges: list[tuple[str, str, Verdict, dict[str, Any]]],
        old: dict[str, Any] | None,
        seen_at: str,
    ) -> dict[str, Any]:
        entity_counts: dict[str, int] = {}
        for key in keys:
            for entity in members[key]["entities"]:
                entity_counts[entity] = entity_counts.get(entity, 0) + 1
        shared = sorted((e for e, n in entity_counts.items() if n >= 2), key=lambda e: (-entity_counts[e], e))
        firsts = [members[k].get("first_seen") for k in keys if members[k].get("first_seen")]
        lasts = [members[k].get("last_seen") for k in keys if members[k].get("last_seen")]
        countries = sorted({members[k]["country"] for k in keys if members[k].get("country")})
        sites = sorted({members[k]["profile_id"] for k in keys})
        history = list((old or {}).get("size_history", []))
        if not history or history[-1]["size"] != len(keys):
            history = [*history, {"at": seen_at, "size": len(keys)}][-MAX_HISTORY:]
        links = [
            {"a": a, "b": b, "strength": v.strength, "reason": v.reason, **evidence}
            for a, b, v, evidence in edges[:MAX_NETWORK_LINKS]
        ]
        return {
            "network_id": nid,
            "representative": min(keys, key=lambda k: (members[k].get("first_seen") or "", k)),
            "size": len(keys),
            "members": keys[:MAX_NETWORK_MEMBERS],
            "entities": shared[:MAX_NETWORK_ENTITIES],
            "entity_types": sorted({e.split(":", 1)[0] for e in shared}),
            "sites": sites,
            "site_count": len(sites),
            "countries": countries,
            "country_count": len(countries),
            "cross_border": len(countries) > 1,
            "first_seen": min(firsts) if firsts else None,
            "last_seen": max(lasts) if lasts else None,
            "size_history": history,
            "link_count": len(edges),
            "links": links,
        }

    def _events(
        self,
        nid: str,
        doc: dict[str, Any],
        old: dict[str, Any] | None,
        members: dict[str, dict[str, Any]],
        record: LinkRecord,
    ) -> list[dict[str, Any]]:
        previous_size = old["size"] if old else 1
        if old:
            known = set(old.get("countries", []))
        else:
            founder = members[doc["representative"]].get("country")
            known = {founder} if founder else set()
        new_countries = sorted(set(doc["countries"]) - known)
        evidence = [
            f"{link['a']} - {link['b']}: {link['reason']}"
            for link in doc["links"]
            if record.ad_key in (link["a"], link["b"])
        ][:10]
        common = {
            "network_id": nid,
            "size": doc["size"],
            "previous_size": previous_size,
            "countries": doc["countries"],
            "sites": doc["sites"],
            "ad_key": record.ad_key,
            "profile_id": record.profile_id,
            "url": record.url,
            "title": record.title,
            "evidence": evidence,
        }
        events = []
        if doc["size"] > previous_size:
            events.append({**common, "event_type": "network.grew"})
        if new_countries:
            events.append({**common, "event_type": "network.new_country", "new_countries": new_countries})
        return events


def pairs(groups: Iterable[Iterable[str]]) -> set[tuple[str, str]]:
    """Every unordered pair of ads inside each group (for pair precision and recall)."""
    found: set[tuple[str, str]] = set()
    for group in groups:
        members = sorted(set(group))
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                found.add((a, b))
    return found
