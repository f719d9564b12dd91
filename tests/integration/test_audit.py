"""Analyst actions leave an audit trail on the real Elasticsearch: who, what, when; no trail, no read."""

from __future__ import annotations

import getpass

import pytest

pytestmark = pytest.mark.integration


def trail(vigil_env) -> list[dict]:
    from vigil.core.elastic import client

    es = client(vigil_env.settings.es)
    alias = vigil_env.settings.es.indices.audit
    es.indices.refresh(index=alias)
    hits = es.search(index=alias, sort=[{"at": "asc"}], size=100)["hits"]["hits"]
    return [hit["_source"] for hit in hits]


def test_search_entity_report_and_exports_are_recorded(vigil_env, tmp_path):
    runs = [
        ("search", "Reisepass", "--country", "DE"),
        ("search", "+49 151 1234 5678", "--json"),
        ("entity", "0151 12345678", "--region", "DE"),
        ("report", "--out", str(tmp_path / "r.html")),
    ]
    for args in runs:
        result = vigil_env.run(*args)
        assert result.returncode == 0, (args, result.stderr)
    recorded = trail(vigil_env)
    assert [r["action"] for r in recorded] == ["search", "search", "entity", "report"]
    assert all(r["os_user"] == getpass.getuser() and r["who"] and r["at"] for r in recorded)
    assert recorded[0]["parameters"] == {"query": "Reisepass", "country": "DE", "limit": 20}
    assert recorded[1]["parameters"]["export"] == "json"
    assert recorded[2]["parameters"]["value"] == "+4915112345678"
    assert recorded[3]["parameters"]["out"] == str((tmp_path / "r.html").resolve())


def test_no_trail_no_read(vigil_env):
    from vigil.core.elastic import client

    es = client(vigil_env.settings.es)
    alias = vigil_env.settings.es.indices.audit
    es.indices.delete(index=list(es.indices.get_alias(name=alias)))
    result = vigil_env.run("search", "Reisepass")
    assert result.returncode == 1 and "audit trail" in result.stderr, result.stderr
    assert not es.indices.exists(index=alias), "the refused write must not create a stray index"
