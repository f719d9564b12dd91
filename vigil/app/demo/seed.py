"""Index ready-made demo data straight into Elasticsearch, bypassing crawl and enrichment.

For tests and the README screenshot, which need realistic ads, entity roll-ups and alerts in
seconds; the real path (board → crawl → enrich → alerts) is exercised by ``vigil demo``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from vigil.core.config import ElasticsearchSettings
from vigil.core.records import AdDocument


def entity_rollups(docs: list[AdDocument]) -> list[dict[str, Any]]:
    """One vigil-entities document per (type, value), as the entities template describes it."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for doc in docs:
        for kind, values in doc.entity_values().items():
            for value in values:
                row = found.setdefault(
                    (kind, value),
                    {
                        "type": kind,
                        "value": value,
                        "ad_keys": [],
                        "sites": set(),
                        "countries": set(),
                        "networks": set(),
                        "first_seen": doc.first_seen,
                        "last_seen": doc.last_seen,
                    },
                )
                row["ad_keys"].append(doc.ad_key)
                row["sites"].add(doc.profile_id)
                row["networks"].add(doc.network)
                if doc.country:
                    row["countries"].add(doc.country)
                row["first_seen"] = min(row["first_seen"], doc.first_seen)
                row["last_seen"] = max(row["last_seen"], doc.last_seen)
    return [
        {
            **row,
            "ad_count": len(row["ad_keys"]),
            "sites": sorted(row["sites"]),
            "countries": sorted(row["countries"]),
            "networks": sorted(row["networks"]),
            "first_seen": row["first_seen"].isoformat(),
            "last_seen": row["last_seen"].isoformat(),
        }
        for row in found.values()
    ]


def alerts_for(docs: list[AdDocument], min_risk: int = 70) -> list[dict[str, Any]]:
    """Delivered alerts for the high-risk ads, shaped like the alerts template."""
    return [
        {
            "alert_id": f"demo-{doc.ad_key}",
            "subscriber": "demo",
            "rule_id": "escalate" if doc.escalate else "high-risk",
            "ad_key": doc.ad_key,
            "url": doc.url,
            "profile_id": doc.profile_id,
            "message": f"risk {doc.risk}: {doc.title}",
            "status": "sent",
            "attempts": 1,
            "created_at": (doc.first_seen + timedelta(minutes=2)).isoformat(),
            "delivered_at": (doc.first_seen + timedelta(minutes=2, seconds=3)).isoformat(),
        }
        for doc in docs
        if doc.risk >= min_risk or doc.escalate
    ]


def networks_for(docs: list[AdDocument]) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """(ad key -> network id, network documents): the production linker run over the ads in order."""
    from pipelines.networks import NETWORK, Linker, MemoryStore, link_record
    from vigil.core.config import NetworksSettings

    settings = NetworksSettings()
    store = MemoryStore()
    linker = Linker(store, settings)
    assigned: dict[str, str] = {}
    for doc in sorted(docs, key=lambda d: (d.first_seen or d.fetched_at, d.ad_key)):
        assigned.update(linker.observe(link_record(doc, settings)).assignments)
    return assigned, list(store.docs.get(NETWORK, {}).values())


def index(settings: ElasticsearchSettings, docs: list[AdDocument], es=None) -> dict[str, int]:
    """Bulk-index ads, their entity roll-ups and alerts into the configured aliases; refreshed."""
    from elasticsearch import helpers

    from vigil.core.elastic import client

    es = es or client(settings)
    assigned, networks = networks_for(docs)
    docs = [d.model_copy(update={"network_id": assigned.get(d.ad_key)}) for d in docs]
    actions: list[dict[str, Any]] = []
    actions += [
        {"_index": settings.indices.ads, "_id": d.ad_key, "_source": d.model_dump(mode="json")} for d in docs
    ]
    actions += [{"_index": settings.indices.networks, "_id": n["network_id"], "_source": n} for n in networks]
    rollups = entity_rollups(docs)
    actions += [
        {"_index": settings.indices.entities, "_id": f"{r['type']}:{r['value']}", "_source": r}
        for r in rollups
    ]
    alerts = alerts_for(docs)
    actions += [{"_index": settings.indices.alerts, "_id": a["alert_id"], "_source": a} for a in alerts]
    helpers.bulk(es, actions, refresh="wait_for")
    return {"ads": len(docs), "entities": len(rollups), "alerts": len(alerts), "networks": len(networks)}
