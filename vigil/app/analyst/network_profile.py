"""One network as the network worker maintains it: its ads, timeline, countries and the evidence
of every link. Found by its id (``net-...``), an ad key, or any entity value one of its ads names."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from vigil.app.analyst.entity_profile import AD_SOURCE, AdSummary
from vigil.app.analyst.fields import field_for
from vigil.app.analyst.identify import IdentifyError, identify
from vigil.core.config import Indices


class NetworkNotFound(Exception):
    """Nothing matches: no such network id, ad or entity value."""


@dataclass
class NetworkProfile:
    network_id: str
    size: int
    sites: list[str]
    countries: list[str]
    entities: list[str]
    first_seen: str | None
    last_seen: str | None
    timeline: list[dict[str, Any]]
    links: list[dict[str, Any]]
    ads: list[AdSummary] = field(default_factory=list)
    found_by: str = ""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _network_of_ad(es, indices: Indices, query: dict[str, Any]) -> str | None:
    hits = es.search(
        index=indices.ads,
        query={"bool": {"filter": [query, {"exists": {"field": "network_id"}}]}},
        size=1,
        sort=[{"last_seen": {"order": "desc", "unmapped_type": "date"}}],
        source=["network_id"],
    )["hits"]["hits"]
    return hits[0]["_source"]["network_id"] if hits else None


def resolve(
    es, indices: Indices, wanted: str, entity_type: str | None = None, region: str | None = None
) -> tuple[str, str]:
    """(network id, how it was found) for an id, an ad key or an entity value."""
    wanted = wanted.strip()
    if wanted.startswith("net-") and not entity_type:
        return wanted, "network id"
    nid = _network_of_ad(es, indices, {"term": {"ad_key": wanted}}) if not entity_type else None
    if nid:
        return nid, f"ad {wanted}"
    try:
        kind, value = identify(wanted, entity_type, region)
    except IdentifyError as exc:
        raise NetworkNotFound(f"{wanted!r} is no network id, ad key or entity value ({exc})") from None
    nid = _network_of_ad(es, indices, {"term": {field_for(kind): value}})
    if not nid:
        raise NetworkNotFound(f"no linked ad names {kind} {value}")
    return nid, f"{kind} {value}"


def profile(
    es,
    indices: Indices,
    wanted: str,
    *,
    entity_type: str | None = None,
    region: str | None = None,
    max_ads: int = 50,
) -> NetworkProfile:
    nid, found_by = resolve(es, indices, wanted, entity_type, region)
    found = es.mget(index=indices.networks, ids=[nid])["docs"][0]
    if found.get("found"):
        doc = found["_source"]
        keys = list(doc.get("members", []))
    else:
        keys = [h["_source"]["ad_key"] for h in es.search(
            index=indices.ads, query={"term": {"network_id": nid}}, size=max_ads, source=["ad_key"]
        )["hits"]["hits"]]  # fmt: skip
        if not keys:
            raise NetworkNotFound(f"no network {nid}")
        doc = {
            "size": len(keys),
            "sites": [],
            "countries": [],
            "entities": [],
            "size_history": [],
            "links": [],
        }
    ads = es.search(
        index=indices.ads,
        query={"terms": {"ad_key": keys[:10000]}},
        size=max_ads,
        sort=[{"first_seen": {"order": "asc", "unmapped_type": "date"}}],
        source=AD_SOURCE,
    )["hits"]["hits"]
    summaries = [AdSummary.from_source(h["_source"], h["_id"]) for h in ads]
    return NetworkProfile(
        network_id=nid,
        size=int(doc.get("size") or len(keys)),
        sites=doc.get("sites") or sorted({a.site for a in summaries}),
        countries=doc.get("countries") or sorted({a.country for a in summaries if a.country}),
        entities=doc.get("entities", []),
        first_seen=doc.get("first_seen"),
        last_seen=doc.get("last_seen"),
        timeline=doc.get("size_history", []),
        links=doc.get("links", []),
        ads=summaries,
        found_by=found_by,
    )
