"""Elasticsearch client and index-template installation, shared by every stage.

Works on Elastic's cut-down integ-test distribution (no ``GET /``, no painless, no
analysis-common, no mapper-extras) as on a full cluster: readiness is ``_cluster/health``.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from vigil.core.config import ElasticsearchSettings


def client(settings: ElasticsearchSettings, **overrides: Any):
    from elasticsearch import Elasticsearch

    return Elasticsearch(**{**settings.client_options(), **overrides})


def templates() -> dict[str, dict[str, Any]]:
    """Index templates the project defines: ``vigil/core/templates/<alias-key>.json``, keyed by file stem.

    Each file is ``{"index_patterns_suffix": ..., "template": {...}}``-free plain JSON holding
    ``settings`` and ``mappings``; the alias name comes from configuration (``es.indices``).
    """
    found: dict[str, dict[str, Any]] = {}
    folder = resources.files("vigil.core") / "templates"
    for entry in folder.iterdir():
        if entry.name.endswith(".json"):
            found[entry.name.removesuffix(".json")] = json.loads(entry.read_text(encoding="utf-8"))
    return found


def install_templates(settings: ElasticsearchSettings, es=None) -> dict[str, str]:
    """Idempotently install each template and create its first index behind the alias.

    Index ``<alias>-000001`` is created with the alias marked as write index, so that a later
    rollover or reindex can swap indices without touching readers or writers.
    """
    es = es or client(settings)
    aliases = settings.indices.model_dump()
    result: dict[str, str] = {}
    for key, body in sorted(templates().items()):
        alias = aliases.get(key)
        if alias is None:
            continue
        index_settings = {
            "number_of_shards": settings.shards,
            "number_of_replicas": settings.replicas,
            **body.get("settings", {}),
        }
        es.indices.put_index_template(
            name=alias,
            index_patterns=[f"{alias}-*"],
            template={"settings": index_settings, "mappings": body.get("mappings", {})},
            priority=200,
        )
        if es.indices.exists_alias(name=alias):
            # New fields reach indices made by an older template (adding a field is always allowed).
            es.indices.put_mapping(index=alias, properties=body.get("mappings", {}).get("properties", {}))
            result[alias] = "exists"
            continue
        es.indices.create(index=f"{alias}-000001", aliases={alias: {"is_write_index": True}})
        result[alias] = "created"
    return result
