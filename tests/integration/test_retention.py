"""`vigil retention apply` against the real local Elasticsearch (which has no _delete_by_query),
the real Kafka topics (retention.ms) and files (logs, reports, the alert inbox)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import pytest
import yaml

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)


@pytest.fixture(autouse=True)
def private_files(vigil_env, tmp_path):
    """Retention must never touch the shared state directory's logs: point it at the test's own."""
    config = yaml.safe_load(vigil_env.config_path.read_text())
    config["files_retention"] = {"log_dirs": [str(tmp_path / "logs")]}
    vigil_env.config_path.write_text(yaml.safe_dump(config))


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


def test_topics_dead_letters_logs_reports_and_inbox(vigil_env, tmp_path):
    """`vigil init` sets topic retention from configuration (also on existing topics); --dry-run lists
    old files and inbox lines without touching them; apply deletes exactly those."""
    from vigil.core.config import load_settings
    from vigil.core.kafka import admin, topic_configs

    logs, reports = tmp_path / "logs", tmp_path / "reports"
    logs.mkdir()
    reports.mkdir()
    old_log, new_log, old_report = logs / "worker.log.1", logs / "worker.log", reports / "case-7.html"
    for path in (old_log, new_log, old_report):
        path.write_text("x\n")
    stale = (NOW - timedelta(days=120)).timestamp()
    os.utime(old_log, (stale, stale))
    os.utime(old_report, (stale, stale))
    inbox = tmp_path / "inbox.jsonl"
    inbox.write_text(
        "".join(
            json.dumps({"alert_id": n, "created_at": days_ago(age)}) + "\n"
            for n, age in (("a", 200), ("b", 1))
        )
    )
    config = yaml.safe_load(vigil_env.config_path.read_text())
    config["files_retention"] = {"log_dirs": [str(logs)], "report_dirs": [str(reports)], "log_days": 30}
    config["alerts"] = {**config.get("alerts", {}), "inbox": str(inbox)}
    config["kafka"]["retention_ms"] = 3 * 24 * 3600 * 1000
    config["kafka"]["topic_retention_ms"] = {"pages_dlq": 3600 * 1000}
    vigil_env.config_path.write_text(yaml.safe_dump(config))
    settings = load_settings(vigil_env.config_path)

    assert vigil_env.run("init", "--kafka-only").returncode == 0
    client = admin(settings.kafka)
    try:
        dlq = topic_configs(client, settings.kafka.topics.pages_dlq, ["retention.ms", "max.message.bytes"])
        raw = topic_configs(client, settings.kafka.topics.pages_raw, ["retention.ms"])
    finally:
        client.close()
    assert dlq["retention.ms"] == str(3600 * 1000) and raw["retention.ms"] == str(3 * 24 * 3600 * 1000)
    assert dlq["max.message.bytes"] == str(settings.kafka.max_message_bytes + 1024 * 1024), (
        "other configs stay"
    )

    dry = vigil_env.run("retention", "apply", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"would delete log {old_log}" in dry.stdout and f"would delete report {old_report}" in dry.stdout
    assert f"would delete inbox {inbox} (1 of 2 lines)" in dry.stdout, dry.stdout
    assert old_log.exists() and old_report.exists() and len(inbox.read_text().splitlines()) == 2

    done = vigil_env.run("retention", "apply")
    assert done.returncode == 0, done.stdout + done.stderr
    assert not old_log.exists() and not old_report.exists() and new_log.exists()
    assert [json.loads(line)["alert_id"] for line in inbox.read_text().splitlines()] == ["b"]
    assert inbox.stat().st_mode & 0o777 == 0o600


def test_an_ad_under_legal_hold_keeps_its_document_and_versions(vigil_env):
    from vigil.core.custody import put_hold
    from vigil.core.elastic import client
    from vigil.core.evidence import open_store

    aliases = vigil_env.settings.es.indices.model_dump()
    es = client(vigil_env.settings.es)
    try:
        operations = []
        for key in ("held", "free"):
            ad = {"ad_key": f"p:{key}", "profile_id": "p", "last_seen": days_ago(200)}
            operations += [{"index": {"_index": aliases["ads"], "_id": f"p:{key}"}}, ad]
            operations += [{"index": {"_index": aliases["ad_versions"], "_id": f"{key}-v1"}}, ad]
        assert not es.bulk(operations=operations, refresh=True)["errors"]
        put_hold(open_store(vigil_env.settings), "p:held", "case 17", "test", [])

        done = vigil_env.run("retention", "apply", "--days", "90", "--es-only")
        assert done.returncode == 0, done.stdout + done.stderr
        assert ids(es, aliases["ads"]) == {"p:held"}
        assert ids(es, aliases["ad_versions"]) == {"held-v1"}
    finally:
        es.close()
