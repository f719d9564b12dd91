"""What the index knows about one entity: its ads, sites, countries, time span, and its neighbours.

Neighbours are the other entities that share an ad with it (hop 1), and those that share an ad
with a hop-1 entity (hop 2): the usual way a phone leads to a wallet that leads to another city.
Counts come from aggregations over every matching ad, not only the listed ones.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from vigil.app.analyst.fields import ENTITY_FIELDS, TYPE_OF_FIELD, field_for

AD_SOURCE = ["ad_key", "url", "title", "profile_id", "country", "risk", "escalate", "first_seen", "last_seen"]


@dataclass
class AdSummary:
    ad_key: str
    url: str
    title: str
    site: str
    country: str | None
    risk: int
    escalate: bool
    first_seen: str | None
    last_seen: str | None

    @classmethod
    def from_source(cls, src: dict[str, Any], doc_id: str) -> AdSummary:
        return cls(
            ad_key=src.get("ad_key", doc_id),
            url=src.get("url", ""),
            title=src.get("title", ""),
            site=src.get("profile_id", ""),
            country=src.get("country"),
            risk=int(src.get("risk") or 0),
            escalate=bool(src.get("escalate")),
            first_seen=src.get("first_seen"),
            last_seen=src.get("last_seen"),
        )


@dataclass
class Neighbour:
    type: str
    value: str
    hop: int
    ads: int
    via: list[str] = field(default_factory=list)


@dataclass
class EntityProfile:
    type: str
    value: str
    total_ads: int
    ads: list[AdSummary]
    sites: dict[str, int]
    countries: dict[str, int]
    first_seen: str | None
    last_seen: str | None
    neighbours: list[Neighbour]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _co_occurrence_aggs(size: int, via: dict[str, list[str]] | None = None) -> dict[str, Any]:
    aggs: dict[str, Any] = {}
    for name in ENTITY_FIELDS.values():
        agg: dict[str, Any] = {"terms": {"field": name, "size": size}}
        if via:
            agg["aggs"] = {
                f"via_{other}": {"terms": {"field": other, "include": values, "size": 5}}
                for other, values in via.items()
                if values
            }
        aggs[f"co_{name}"] = agg
    return aggs


def _values_query(values: dict[str, list[str]]) -> dict[str, Any]:
    should = [{"terms": {name: vals}} for name, vals in values.items() if vals]
    return {"bool": {"should": should, "minimum_should_match": 1}}


def profile(
    es, alias: str, entity_type: str, value: str, max_ads: int = 50, fanout: int = 100
) -> EntityProfile:
    """The entity's profile; ``fanout`` caps how many neighbours each hop follows per type."""
    seed_field = field_for(entity_type)
    seed = {"term": {seed_field: value}}
    first = es.search(
        index=alias,
        query=seed,
        size=max_ads,
        sort=[{"last_seen": {"order": "desc", "unmapped_type": "date"}}],
        source=AD_SOURCE,
        track_total_hits=True,
        aggs={
            "sites": {"terms": {"field": "profile_id", "size": 50}},
            "countries": {"terms": {"field": "country", "size": 50}},
            "first_seen": {"min": {"field": "first_seen"}},
            "last_seen": {"max": {"field": "last_seen"}},
            **_co_occurrence_aggs(fanout),
        },
    )
    aggs = first["aggregations"]
    ads = [AdSummary.from_source(h["_source"], h["_id"]) for h in first["hits"]["hits"]]
    seen = {(entity_type, value)}
    hop1: dict[str, list[str]] = {}
    neighbours: list[Neighbour] = []
    for name in ENTITY_FIELDS.values():
        kind = TYPE_OF_FIELD[name]
        for bucket in aggs[f"co_{name}"]["buckets"]:
            key = str(bucket["key"])
            if (kind, key) in seen:
                continue
            seen.add((kind, key))
            hop1.setdefault(name, []).append(key)
            neighbours.append(Neighbour(kind, key, 1, bucket["doc_count"], [f"{entity_type}:{value}"]))
    if hop1:
        second = es.search(
            index=alias,
            query={"bool": {"must": [_values_query(hop1)], "must_not": [seed]}},
            size=0,
            aggs=_co_occurrence_aggs(fanout, via=hop1),
        )
        for name in ENTITY_FIELDS.values():
            kind = TYPE_OF_FIELD[name]
            for bucket in second["aggregations"][f"co_{name}"]["buckets"]:
                key = str(bucket["key"])
                if (kind, key) in seen:
                    continue
                seen.add((kind, key))
                via = [
                    f"{TYPE_OF_FIELD[agg_name.removeprefix('via_')]}:{b['key']}"
                    for agg_name, sub in bucket.items()
                    if agg_name.startswith("via_")
                    for b in sub["buckets"]
                ]
                neighbours.append(Neighbour(kind, key, 2, bucket["doc_count"], via))
    neighbours.sort(key=lambda n: (n.hop, -n.ads, n.type, n.value))
    return EntityProfile(
        type=entity_type,
        value=value,
        total_ads=first["hits"]["total"]["value"],
        ads=ads,
        sites={b["key"]: b["doc_count"] for b in aggs["sites"]["buckets"]},
        countries={b["key"]: b["doc_count"] for b in aggs["countries"]["buckets"]},
        first_seen=aggs["first_seen"].get("value_as_string"),
        last_seen=aggs["last_seen"].get("value_as_string"),
        neighbours=neighbours,
    )
