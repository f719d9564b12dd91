"""Building and running ad searches from an analyst's query and filters.

The query goes through ``simple_query_string``, which never raises on syntax (an unbalanced quote
or bracket degrades to plain terms), so a hostile or mistyped query cannot produce a stack trace.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from vigil.app.analyst.fields import ENTITY_FIELDS, TEXT_FIELDS, field_for

MARK_START = "\ue000"
MARK_END = "\ue001"
_RELATIVE = re.compile(r"^(\d+)([hdwMy])$")


class QueryError(ValueError):
    """A filter value the user gave cannot be used (bad date, negative risk)."""


def parse_since(value: str) -> str:
    """An ES date or date-math string from ``2024-05-01``, an ISO timestamp, or ``7d``/``12h``/``2w``."""
    value = value.strip()
    match = _RELATIVE.match(value)
    if match:
        return f"now-{match.group(1)}{match.group(2)}"
    try:
        if len(value) == 10:
            return date.fromisoformat(value).isoformat()
        return datetime.fromisoformat(value.replace("Z", "+00:00")).isoformat()
    except ValueError:
        raise QueryError(
            f"--since: {value!r} is not a date (expected YYYY-MM-DD, an ISO timestamp, or 7d / 12h / 2w)"
        ) from None


@dataclass(frozen=True)
class SearchRequest:
    text: str = ""
    country: str | None = None
    min_risk: int | None = None
    indicators: tuple[str, ...] = ()
    since: str | None = None
    limit: int = 20
    entity: tuple[str, str] | None = None  # (type, normalised) when the query is itself an entity

    def body(self) -> dict[str, Any]:
        """The ES search body: relevance on the text, exact filters, highlights with private marks."""
        filters: list[dict[str, Any]] = []
        if self.country:
            filters.append({"term": {"country": self.country.upper()}})
        if self.min_risk is not None:
            if self.min_risk < 0:
                raise QueryError("--min-risk must be 0 or more")
            filters.append({"range": {"risk": {"gte": self.min_risk}}})
        for indicator in self.indicators:
            filters.append({"term": {"indicator_ids": indicator}})
        if self.since:
            filters.append({"range": {"last_seen": {"gte": parse_since(self.since)}}})
        must: list[dict[str, Any]] = []
        text = self.text.strip()
        if text and text != "*":
            should: list[dict[str, Any]] = [
                {
                    "simple_query_string": {
                        "query": text,
                        "fields": [*TEXT_FIELDS, *ENTITY_FIELDS.values()],
                        "default_operator": "and",
                        "lenient": True,
                    }
                }
            ]
            if self.entity:
                kind, value = self.entity
                should.append({"term": {field_for(kind): {"value": value, "boost": 5.0}}})
            must.append({"bool": {"should": should, "minimum_should_match": 1}})
        query: dict[str, Any] = {"bool": {"must": must or [{"match_all": {}}], "filter": filters}}
        return {
            "query": query,
            "size": self.limit,
            "sort": [
                "_score",
                {"risk": {"order": "desc", "unmapped_type": "integer"}},
                {"last_seen": {"order": "desc", "unmapped_type": "date"}},
            ],
            "track_total_hits": True,
            "_source": {"excludes": ["signature", "entities", "text", "metadata"]},
            "highlight": {
                "pre_tags": [MARK_START],
                "post_tags": [MARK_END],
                # Fragments are HTML-escaped: an ad's own markup never becomes markup in a consumer.
                "encoder": "html",
                "fields": {
                    "title": {"number_of_fragments": 0},
                    "text": {"fragment_size": 160, "number_of_fragments": 2, "no_match_size": 160},
                },
            },
        }


@dataclass
class Hit:
    ad_key: str
    url: str
    title: str
    site: str
    country: str | None
    risk: int
    escalate: bool
    indicators: list[str]
    first_seen: str | None
    last_seen: str | None
    score: float | None
    highlights: dict[str, list[str]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """Marks become <mark>…</mark> for scripts; the ad's text in between is HTML-escaped by ES."""
        data = asdict(self)
        data["highlights"] = {
            name: [f.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>") for f in fragments]
            for name, fragments in self.highlights.items()
        }
        return data


@dataclass
class SearchResult:
    total: int
    hits: list[Hit]


def search(es, alias: str, request: SearchRequest) -> SearchResult:
    response = es.search(index=alias, **request.body())
    hits = []
    for raw in response["hits"]["hits"]:
        src = raw.get("_source", {})
        hits.append(
            Hit(
                ad_key=src.get("ad_key", raw["_id"]),
                url=src.get("url", ""),
                title=src.get("title", ""),
                site=src.get("profile_id", ""),
                country=src.get("country"),
                risk=int(src.get("risk") or 0),
                escalate=bool(src.get("escalate")),
                indicators=list(src.get("indicator_ids") or []),
                first_seen=src.get("first_seen"),
                last_seen=src.get("last_seen"),
                score=raw.get("_score"),
                highlights=dict(raw.get("highlight") or {}),
            )
        )
    total = response["hits"]["total"]
    return SearchResult(total=total["value"] if isinstance(total, dict) else int(total), hits=hits)
