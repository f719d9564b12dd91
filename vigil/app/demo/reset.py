"""Forget what an earlier ``vigil demo`` left in Elasticsearch, so that a second run behaves like the first.

Without it the board's ads would already be known (no baseline, no new ads) and every alert
would already be claimed in vigil-alerts (alerts are sent at most once per subscriber, ad and
rule). Only documents of the demo's own profiles are touched; an entity that other sites also
named keeps its other ads and loses only the demo's. Elasticsearch's integ-test distribution has
no ``_delete_by_query``, so this scans and bulk-deletes.
"""

from __future__ import annotations

from typing import Any

from vigil.core.config import Indices


def _ids(es, index: str, query: dict[str, Any], source: list[str] | bool = False) -> list[dict[str, Any]]:
    from elasticsearch.helpers import scan

    return list(scan(es, index=index, query={"query": query, "_source": source}, size=1000, scroll="2m"))


def forget_previous_run(es, indices: Indices, profile_ids: list[str]) -> dict[str, int]:
    """Delete the demo profiles' ads, alerts, jobs and pages, and their traces in entities.

    Returns alias -> documents deleted or rewritten. Raises elasticsearch errors unchanged.
    """
    from elasticsearch.helpers import bulk

    mine = {"terms": {"profile_id": profile_ids}}
    result: dict[str, int] = {}
    for alias in (indices.ads, indices.alerts, indices.jobs, indices.pages):
        hits = _ids(es, alias, mine)
        bulk(
            es,
            ({"_op_type": "delete", "_index": h["_index"], "_id": h["_id"]} for h in hits),
            raise_on_error=False,
        )
        result[alias] = len(hits)
    actions = []
    demo_sites = set(profile_ids)
    for hit in _ids(es, indices.entities, {"terms": {"sites": profile_ids}}, source=True):
        entity = hit["_source"]
        others = [s for s in entity.get("sites") or [] if s not in demo_sites]
        if not others:
            actions.append({"_op_type": "delete", "_index": hit["_index"], "_id": hit["_id"]})
            continue
        keys = [k for k in entity.get("ad_keys") or [] if k.split(":", 1)[0] not in demo_sites]
        removed = len(entity.get("ad_keys") or []) - len(keys)
        entity.update(sites=others, ad_keys=keys, ad_count=max(0, int(entity.get("ad_count") or 0) - removed))
        actions.append({"_op_type": "index", "_index": hit["_index"], "_id": hit["_id"], "_source": entity})
    bulk(es, actions, raise_on_error=False)
    result[indices.entities] = len(actions)
    es.indices.refresh(
        index=",".join([indices.ads, indices.alerts, indices.jobs, indices.pages, indices.entities])
    )
    return result
