"""`vigil retention apply` against the real local Elasticsearch (which has no _delete_by_query)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)


def days_ago(days: int) -> str:
    return (NOW - timedelta(days=days)).isoformat()


def seed(es, aliases: dict[str, str]) -> None:
    """Per alias: documents well past 90 days, recent ones, and ones with only a fallback date."""
    docs = {
        "ads": [
            ("ad-old", {"profile_id": "p", "last_seen": days_ago(200), "fetched_at": days_ago(1)}),
            ("ad-new", {"profile_id": "p", "last_seen": days_ago(5), "fetched_at": days_ago(300)}),
            ("ad-fallback-old", {"profile_id": "p", "fetched_at": days_ago(120)}),
            ("ad-undated", {"profile_id": "p"}),
        ],
        "entities": [
            ("ent-old", {"last_seen": days_ago(91)}),
            ("ent-new", {"last_seen": days_ago(89)}),
        ],
        "alerts": [
            ("alert-old", {"created_at": days_ago(365)}),
            ("alert-new", {"created_at": days_ago(1)}),
        ],
        "jobs": [
            ("job-old", {"job_id": "j1", "updated_at": days_ago(100)}),
            ("job-new", {"job_id": "j2", "updated_at": days_ago(10), "requested_at": days_ago(400)}),
            ("job-fallback-old", {"job_id": "j3", "requested_at": days_ago(100)}),
        ],
    }
    operations = []
    for key, items in docs.items():
        for doc_id, body in items:
            operations += [{"index": {"_index": aliases[key], "_id": doc_id}}, body]
    response = es.bulk(operations=operations, refresh=True)
    assert not response["errors"], response


def ids(es, alias: str) -> set[str]:
    hits = es.search(index=alias, query={"match_all": {}}, size=100, source=False)["hits"]["hits"]
    return {hit["_id"] for hit in hits}


def test_dry_run_counts_and_apply_deletes_only_old_documents(vigil_env):
    from vigil.core.elastic import client

    aliases = vigil_env.settings.es.indices.model_dump()
    es = client(vigil_env.settings.es)
    try:
        seed(es, aliases)

        dry = vigil_env.run("retention", "apply", "--days", "90", "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert "would delete" in dry.stdout
        assert ids(es, aliases["ads"]) == {"ad-old", "ad-new", "ad-fallback-old", "ad-undated"}

        done = vigil_env.run("retention", "apply", "--days", "90", "--batch-size", "1")
        assert done.returncode == 0, done.stdout + done.stderr
        assert ids(es, aliases["ads"]) == {"ad-new", "ad-undated"}
        assert ids(es, aliases["entities"]) == {"ent-new"}
        assert ids(es, aliases["alerts"]) == {"alert-new"}
        assert ids(es, aliases["jobs"]) == {"job-new"}

        again = vigil_env.run("retention", "apply", "--days", "90")
        assert again.returncode == 0, again.stderr
    finally:
        es.close()


def test_days_default_comes_from_settings_and_only_limits_aliases(vigil_env):
    from vigil.core.elastic import client

    aliases = vigil_env.settings.es.indices.model_dump()
    es = client(vigil_env.settings.es)
    try:
        seed(es, aliases)
        env = {**vigil_env.env, "VIGIL_RETENTION_DAYS": "150"}
        vigil_env.env = env
        done = vigil_env.run("retention", "apply", "--only", "ads", "--only", "alerts")
        assert done.returncode == 0, done.stdout + done.stderr
        # 150 days: only the 200-day-old ad and the year-old alert go; other aliases untouched.
        assert ids(es, aliases["ads"]) == {"ad-new", "ad-fallback-old", "ad-undated"}
        assert ids(es, aliases["alerts"]) == {"alert-new"}
        assert ids(es, aliases["jobs"]) == {"job-old", "job-new", "job-fallback-old"}

        bad = vigil_env.run("retention", "apply", "--only", "nonsense")
        assert bad.returncode == 2
    finally:
        es.close()
