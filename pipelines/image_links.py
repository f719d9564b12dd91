"""Photo links: near-identical photos share one ``image`` entity in the entities index.

A photo's entity value is the pHash of the first copy seen; a later copy within
``MATCH_DISTANCE`` bits links to it. Candidates are found without scripts (this Elasticsearch has
no painless): each image entity stores its hash cut into ``MATCH_DISTANCE + 1`` bands, any hash
within that distance shares at least one band, and Hamming distance decides among the hits.
An entity seen on ``hub_min_ads`` ads or ``hub_min_sites`` sites is a hub (a logo, a
placeholder, a stock photo): it is still counted, but it links nothing.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from pipelines.images import MATCH_DISTANCE, hamming, hash_bands

CANDIDATES = 100
RECENT = 10_000


def is_hub(entity: dict[str, Any], hub_min_ads: int, hub_min_sites: int) -> bool:
    return int(entity.get("ad_count") or 0) >= hub_min_ads or len(entity.get("sites") or []) >= hub_min_sites


def closest(phash: str, candidates: list[str]) -> str | None:
    """The candidate within MATCH_DISTANCE of ``phash``: the nearest, then the smallest value."""
    near = [(hamming(phash, c), c) for c in candidates if hamming(phash, c) <= MATCH_DISTANCE]
    return min(near)[1] if near else None


class Linker:
    """Finds the image entity a hash belongs to. Remembers the values it handed out, so copies
    processed before the entities index refreshes still find each other within this worker."""

    def __init__(self, es, alias: str):
        self.es = es
        self.alias = alias
        self.recent: OrderedDict[str, None] = OrderedDict()

    def link(self, phash: str) -> str:
        stored = self.es.search(
            index=self.alias,
            size=CANDIDATES,
            query={
                "bool": {"filter": [{"term": {"type": "image"}}, {"terms": {"bands": hash_bands(phash)}}]}
            },
            source=["value"],
        )["hits"]["hits"]
        candidates = [hit["_source"]["value"] for hit in stored] + list(self.recent)
        value = closest(phash, candidates) or phash
        self.recent[value] = None
        self.recent.move_to_end(value)
        while len(self.recent) > RECENT:
            self.recent.popitem(last=False)
        return value
