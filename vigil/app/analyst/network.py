"""The graph of ads linked by shared entities, for the report's interactive network view.

Bipartite (ad nodes and entity nodes) rather than ad-to-ad: an entity shared by n ads costs n
edges instead of n·(n−1)/2, and the analyst sees *which* phone or wallet ties the ads together.
Only entities present in at least two ads are fetched; singletons carry no link.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vigil.app.analyst.fields import ENTITY_FIELDS, TYPE_OF_FIELD


@dataclass
class Graph:
    nodes: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, str]] = field(default_factory=list)

    @property
    def components(self) -> int:
        """Number of separate networks (connected groups of ads)."""
        parent: dict[str, str] = {n["id"]: n["id"] for n in self.nodes}

        def root(x: str) -> str:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for link in self.links:
            parent[root(link["source"])] = root(link["target"])
        return len({root(n["id"]) for n in self.nodes})

    def as_json(self) -> dict[str, Any]:
        return {"nodes": self.nodes, "links": self.links}


def shared_values(es, alias: str, per_type: int = 100) -> dict[str, list[str]]:
    """field -> entity values found in two ads or more, most shared first."""
    response = es.search(
        index=alias,
        size=0,
        aggs={
            name: {"terms": {"field": name, "size": per_type, "min_doc_count": 2}}
            for name in ENTITY_FIELDS.values()
        },
    )
    return {
        name: [str(b["key"]) for b in agg["buckets"]]
        for name, agg in response["aggregations"].items()
        if agg["buckets"]
    }


def linked_ads(es, alias: str, max_ads: int = 300, per_type: int = 100) -> Graph:
    shared = shared_values(es, alias, per_type)
    graph = Graph()
    if not shared:
        return graph
    response = es.search(
        index=alias,
        size=max_ads,
        query={"bool": {"should": [{"terms": {n: v}} for n, v in shared.items()], "minimum_should_match": 1}},
        sort=[{"risk": {"order": "desc", "unmapped_type": "integer"}}],
        source=[
            "ad_key",
            "title",
            "profile_id",
            "country",
            "risk",
            "escalate",
            "url",
            *ENTITY_FIELDS.values(),
        ],
    )
    members: dict[tuple[str, str], list[str]] = {}
    for hit in response["hits"]["hits"]:
        src = hit["_source"]
        ad_id = f"ad:{src.get('ad_key', hit['_id'])}"
        graph.nodes.append(
            {
                "id": ad_id,
                "kind": "ad",
                "label": (src.get("title") or src.get("url") or "")[:120],
                "site": src.get("profile_id", ""),
                "country": src.get("country") or "",
                "risk": int(src.get("risk") or 0),
                "escalate": bool(src.get("escalate")),
            }
        )
        for name, values in shared.items():
            wanted = set(values)
            for value in src.get(name) or []:
                if value in wanted:
                    members.setdefault((TYPE_OF_FIELD[name], value), []).append(ad_id)
    for (kind, value), ads in sorted(members.items()):
        if len(ads) < 2:
            continue
        entity_id = f"{kind}:{value}"
        graph.nodes.append({"id": entity_id, "kind": kind, "label": value})
        graph.links.extend({"source": ad, "target": entity_id} for ad in ads)
    linked = {link["source"] for link in graph.links}
    graph.nodes = [n for n in graph.nodes if n["kind"] != "ad" or n["id"] in linked]
    return graph
