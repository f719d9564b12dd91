"""The numbers behind the report: activity per day, risk, indicators, cross-border entities, escalations.

Each function is one aggregation request over the ads alias and returns plain data (lists and
dicts) so that rendering never talks to Elasticsearch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from vigil.app.analyst.fields import ENTITY_FIELDS, TIME_FIELD, TYPE_OF_FIELD


@dataclass
class Totals:
    ads: int
    escalated: int
    high_risk: int
    sites: int
    countries: int
    first_seen: str | None
    last_seen: str | None


@dataclass
class Activity:
    """New ads per day (by first_seen), split into the top ``series`` values of one field."""

    days: list[str]
    series: dict[str, list[int]] = field(default_factory=dict)


@dataclass
class SharedEntity:
    type: str
    value: str
    ads: int
    countries: list[str]
    sites: int


def totals(es, alias: str, high_risk: int = 70) -> Totals:
    response = es.search(
        index=alias,
        size=0,
        track_total_hits=True,
        aggs={
            "escalated": {"filter": {"term": {"escalate": True}}},
            "high_risk": {"filter": {"range": {"risk": {"gte": high_risk}}}},
            "sites": {"cardinality": {"field": "profile_id"}},
            "countries": {"cardinality": {"field": "country"}},
            "first_seen": {"min": {"field": TIME_FIELD}},
            "last_seen": {"max": {"field": "last_seen"}},
        },
    )
    aggs = response["aggregations"]
    return Totals(
        ads=response["hits"]["total"]["value"],
        escalated=aggs["escalated"]["doc_count"],
        high_risk=aggs["high_risk"]["doc_count"],
        sites=aggs["sites"]["value"],
        countries=aggs["countries"]["value"],
        first_seen=aggs["first_seen"].get("value_as_string"),
        last_seen=aggs["last_seen"].get("value_as_string"),
    )


def activity(es, alias: str, by: str, days: int = 30, top: int = 8) -> Activity:
    """At most ``days`` days up to the newest ad (not up to today: an old index still charts)."""
    span = es.search(
        index=alias,
        size=0,
        aggs={"newest": {"max": {"field": TIME_FIELD}}, "oldest": {"min": {"field": TIME_FIELD}}},
    )["aggregations"]
    if span["newest"].get("value") is None:
        return Activity(days=[])
    last = datetime.fromtimestamp(span["newest"]["value"] / 1000, UTC).date()
    oldest = datetime.fromtimestamp(span["oldest"]["value"] / 1000, UTC).date()
    start = max(oldest, last - timedelta(days=days - 1)).isoformat()
    response = es.search(
        index=alias,
        size=0,
        query={"range": {TIME_FIELD: {"gte": start, "format": "yyyy-MM-dd"}}},
        aggs={
            "top": {"terms": {"field": by, "size": top, "missing": "unknown"}},
            "per_day": {
                "date_histogram": {
                    "field": TIME_FIELD,
                    "calendar_interval": "day",
                    "format": "yyyy-MM-dd",
                    "min_doc_count": 0,
                    "extended_bounds": {"min": start, "max": last.isoformat()},
                },
                "aggs": {"split": {"terms": {"field": by, "size": top, "missing": "unknown"}}},
            },
        },
    )
    aggs = response["aggregations"]
    names = [str(b["key"]) for b in aggs["top"]["buckets"]]
    day_buckets = aggs["per_day"]["buckets"]
    series: dict[str, list[int]] = {name: [] for name in names}
    other: list[int] = []
    for bucket in day_buckets:
        counts = {str(b["key"]): b["doc_count"] for b in bucket["split"]["buckets"]}
        for name in names:
            series[name].append(counts.get(name, 0))
        other.append(bucket["doc_count"] - sum(counts.get(name, 0) for name in names))
    if any(other):
        series["other"] = other
    return Activity(days=[b["key_as_string"] for b in day_buckets], series=series)


def risk_distribution(es, alias: str, interval: int = 10) -> list[tuple[str, int]]:
    response = es.search(
        index=alias,
        size=0,
        aggs={
            "risk": {
                "histogram": {
                    "field": "risk",
                    "interval": interval,
                    "min_doc_count": 0,
                    "extended_bounds": {"min": 0, "max": 100 - interval},
                }
            }
        },
    )
    return [
        (f"{int(b['key'])}–{int(b['key']) + interval - 1}", b["doc_count"])
        for b in response["aggregations"]["risk"]["buckets"]
    ]


def top_terms(es, alias: str, field_name: str, size: int = 15) -> list[tuple[str, int]]:
    response = es.search(index=alias, size=0, aggs={"top": {"terms": {"field": field_name, "size": size}}})
    return [(str(b["key"]), b["doc_count"]) for b in response["aggregations"]["top"]["buckets"]]


def shared_entities(es, alias: str, size: int = 20, min_countries: int = 2) -> list[SharedEntity]:
    """Entities ordered by how many countries their ads span (cross-border networks first)."""
    aggs = {
        name: {
            "terms": {
                "field": name,
                "size": size * 5,
                "order": [{"n_countries": "desc"}, {"_count": "desc"}],
            },
            "aggs": {
                "n_countries": {"cardinality": {"field": "country"}},
                "countries": {"terms": {"field": "country", "size": 20}},
                "sites": {"cardinality": {"field": "profile_id"}},
            },
        }
        for name in ENTITY_FIELDS.values()
    }
    response = es.search(index=alias, size=0, aggs=aggs)
    found: list[SharedEntity] = []
    for name, agg in response["aggregations"].items():
        for b in agg["buckets"]:
            countries = [str(c["key"]) for c in b["countries"]["buckets"]]
            if len(countries) >= min_countries:
                found.append(
                    SharedEntity(
                        TYPE_OF_FIELD[name], str(b["key"]), b["doc_count"], countries, b["sites"]["value"]
                    )
                )
    found.sort(key=lambda e: (-len(e.countries), -e.ads, e.type, e.value))
    return found[:size]


def escalations(es, alias: str, size: int = 100) -> list[dict[str, Any]]:
    response = es.search(
        index=alias,
        size=size,
        query={"term": {"escalate": True}},
        sort=[
            {"risk": {"order": "desc", "unmapped_type": "integer"}},
            {"last_seen": {"order": "desc", "unmapped_type": "date"}},
        ],
        source=[
            "ad_key",
            "url",
            "title",
            "profile_id",
            "country",
            "risk",
            "indicator_ids",
            "first_seen",
            "last_seen",
        ],
    )
    return [h["_source"] | {"ad_key": h["_source"].get("ad_key", h["_id"])} for h in response["hits"]["hits"]]


NETWORK_SOURCE = ["network_id", "size", "sites", "countries", "entities", "first_seen", "last_seen", "cross_border"]


def top_networks(es, alias: str | None, size: int = 20) -> list[dict[str, Any]]:
    """Networks the network worker found, the largest cross-border ones first, then the largest
    others ([] when there is no networks index yet: networks are optional for a report)."""
    from elasticsearch import NotFoundError

    if not alias:
        return []
    try:
        response = es.search(
            index=alias,
            size=size,
            sort=[
                {"cross_border": {"order": "desc"}},
                {"size": {"order": "desc"}},
                {"country_count": {"order": "desc"}},
            ],
            source=NETWORK_SOURCE,
        )
    except NotFoundError:
        return []
    return [h["_source"] for h in response["hits"]["hits"]]
