"""The deployment files: deploy/check.sh end to end, and proof that each of its checks bites.

The first test is `make deploy-check` itself (tools fetched from the registries on a cold
machine, cached in .vigil/tools afterwards); the others feed each checker a broken input.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load(relative: str):
    path = ROOT / relative
    spec = importlib.util.spec_from_file_location(path.stem + "_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.timeout(1800)
def test_deploy_check_passes():
    result = subprocess.run(
        ["bash", "deploy/check.sh"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHON": sys.executable},
    )
    print(result.stdout[-20000:])
    print(result.stderr[-5000:], file=sys.stderr)
    assert result.returncode == 0, "deploy/check.sh failed; see the output above"
    assert "deploy-check: all passed" in result.stdout


# -- Grafana dashboard -------------------------------------------------------------------------


def test_dashboard_rejects_a_metric_the_code_does_not_export():
    dashboard = load("deploy/checks/dashboard.py")
    series = dashboard.exported_series()
    panel = {"panels": [{"targets": [{"expr": "rate(vigil_pages_fetched[5m])"}]}]}
    problems, _ = dashboard.problems(panel, series)
    assert "vigil_pages_fetched is not exported by vigil/core/metrics.py" in problems
    assert "vigil_pages_fetched_total" in series
    assert "vigil_bulk_latency_seconds_bucket" in series
    assert "vigil_consumer_lag" in series


def test_dashboard_must_show_the_required_panels():
    dashboard = load("deploy/checks/dashboard.py")
    problems, _ = dashboard.problems({"panels": []}, dashboard.exported_series())
    assert "no panel shows vigil_tor_circuits" in problems


# -- compose -----------------------------------------------------------------------------------


def test_compose_rejects_undefined_dependencies_and_foreign_role_images(tmp_path):
    compose = load("deploy/checks/compose.py")
    text = (ROOT / "deploy/compose.yaml").read_text()
    text = text.replace(
        "      kafka:\n        condition: service_healthy",
        "      zookeeper:\n        condition: service_healthy",
    )
    text = text.replace(
        '    command: ["vigil", "worker", "enrich"]',
        '    image: somebody/else:1\n    command: ["vigil", "worker", "enrich"]',
    )
    broken = ROOT / "deploy" / f".compose-test-{tmp_path.name}.yaml"
    broken.write_text(text)
    try:
        problems = compose.problems(broken)
    finally:
        broken.unlink()
    assert "service init depends on undefined service zookeeper" in problems
    assert any("should share one built image" in p and "somebody/else:1" in p for p in problems)


# -- Kubernetes deployment rules ---------------------------------------------------------------


def deployment(name, component, args, replicas=2, strategy=None, init=()):
    container = {
        "name": component,
        "args": args,
        "ports": [{"name": "metrics", "containerPort": 9400}],
        "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
    }
    spec = {
        "replicas": replicas,
        "template": {"spec": {"containers": [container], "initContainers": list(init)}},
    }
    if strategy:
        spec["strategy"] = {"type": strategy}
    return {"kind": "Deployment", "metadata": {"name": name}, "spec": spec}


def test_manifest_rules_catch_a_scaled_scheduler_and_an_open_crawler():
    manifests = load("deploy/checks/manifests.py")
    docs = [
        deployment(
            "vigil-scheduler", "scheduler", ["vigil", "scheduler"], replicas=2, strategy="RollingUpdate"
        ),
        deployment("vigil-crawl", "crawl", ["vigil", "worker", "crawl"]),
        {
            "kind": "NetworkPolicy",
            "metadata": {"name": "n"},
            "spec": {
                "podSelector": {"matchLabels": {"app.kubernetes.io/component": "crawl"}},
                "policyTypes": ["Egress"],
                "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}]}],
            },
        },
    ]
    problems = manifests.problems(docs)
    assert any("vigil-scheduler: replicas must be 1" in p for p in problems)
    assert any("strategy must be Recreate" in p for p in problems)
    assert "vigil-crawl: no tor sidecar" in problems
    assert any("does not exclude" in p and "169.254.0.0/16" in p for p in problems)
    assert "no ScaledObject targets vigil-enrich" in problems
    assert "no PodDisruptionBudget for crawl workers" in problems


# -- Dockerfile --------------------------------------------------------------------------------


def test_dockerfile_rules_catch_missing_sources_and_root(tmp_path):
    dockerfile = load("deploy/checks/dockerfile.py")
    text = (ROOT / "deploy/Dockerfile").read_text()
    text = text.replace("COPY scheduler scheduler", "COPY scheduler scheduler\nCOPY no-such-dir /x")
    text = text.replace("USER 10001:10001", "USER root")
    broken = tmp_path / "Dockerfile"
    broken.write_text(text)
    problems = dockerfile.problems(broken, ROOT)
    assert f"COPY source no-such-dir does not exist in {ROOT}" in problems
    assert "the image must end with a non-root USER" in problems
    assert dockerfile.problems(ROOT / "deploy/Dockerfile", ROOT) == []


# -- schema conversion -------------------------------------------------------------------------


def test_schema_conversion_is_strict_but_keeps_kubernetes_leniencies():
    schemas = load("deploy/tools/k8s_schemas.py")
    converted = schemas.strict(
        {
            "type": "object",
            "properties": {
                "port": {
                    "x-kubernetes-int-or-string": True,
                    "anyOf": [{"type": "integer"}, {"type": "string"}],
                },
                "free": {
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": True,
                    "properties": {"a": {}},
                },
                "maybe": {"type": "string", "nullable": True},
            },
        }
    )
    assert converted["additionalProperties"] is False
    assert converted["properties"]["port"]["oneOf"] == [{"type": "string"}, {"type": "integer"}]
    assert "additionalProperties" not in converted["properties"]["free"]
    assert converted["properties"]["maybe"]["type"] == ["string", "null"]
    assert schemas.file_name("Deployment", "apps/v1") == "deployment-apps-v1.json"
    assert schemas.file_name("Service", "v1") == "service-v1.json"
    assert schemas.file_name("KafkaTopic", "kafka.strimzi.io/v1") == "kafkatopic-kafka-v1.json"


# -- retention query ---------------------------------------------------------------------------


def test_retention_age_uses_the_first_date_a_document_has():
    from datetime import UTC, datetime

    from vigil.app.retention import AGE_FIELDS, older_than

    query = older_than(("last_seen", "fetched_at"), datetime(2026, 1, 1, tzinfo=UTC))
    first, second = query["bool"]["should"]
    assert first == {"bool": {"filter": [{"range": {"last_seen": {"lt": "2026-01-01T00:00:00+00:00"}}}]}}
    assert second["bool"]["filter"][0] == {"bool": {"must_not": {"exists": {"field": "last_seen"}}}}
    assert set(AGE_FIELDS) >= {"ads", "entities", "alerts", "jobs"}


def test_manifest_rules_catch_references_to_unrendered_config():
    manifests = load("deploy/checks/manifests.py")
    enrich = deployment("vigil-enrich", "enrich", ["vigil", "worker", "enrich"])
    enrich["spec"]["template"]["spec"]["containers"][0]["envFrom"] = [
        {"configMapRef": {"name": "vigil-config"}},
        {"secretRef": {"name": "vigil-kafka", "optional": True}},
    ]
    docs = [
        enrich,
        {
            "kind": "ScaledObject",
            "metadata": {"name": "s"},
            "spec": {
                "scaleTargetRef": {"name": "vigil-enrich"},
                "triggers": [{"type": "kafka", "authenticationRef": {"name": "nowhere"}, "metadata": {}}],
            },
        },
    ]
    problems = manifests.check_references(docs)
    assert "vigil-enrich: ConfigMap vigil-config is not part of the rendered manifests" in problems
    assert "ScaledObject s: TriggerAuthentication nowhere is not rendered" in problems
    assert not any("vigil-kafka" in p for p in problems)  # optional


# -- schedulers on a shared database -----------------------------------------------------------


def test_compose_rejects_two_schedulers_without_postgresql(tmp_path):
    compose = load("deploy/checks/compose.py")
    text = (ROOT / "deploy/compose.yaml").read_text()
    start = text.index("      VIGIL_SCHEDULER_JOBSTORE_URL:")
    text = text[:start] + text[text.index("\n", start) + 1 :]
    broken = ROOT / "deploy" / f".compose-test-{tmp_path.name}.yaml"
    broken.write_text(text)
    try:
        problems = compose.problems(broken)
    finally:
        broken.unlink()
    assert "service scheduler: 2 replicas need VIGIL_SCHEDULER_JOBSTORE_URL on PostgreSQL" in problems
    assert compose.problems(ROOT / "deploy/compose.yaml") == []


def test_manifest_rules_for_schedulers_on_the_shared_database():
    manifests = load("deploy/checks/manifests.py")
    scheduler = deployment("vigil-scheduler", "scheduler", ["vigil", "scheduler"], replicas=1)
    pod = scheduler["spec"]["template"]["spec"]
    pod["containers"][0]["envFrom"] = [{"secretRef": {"name": "vigil-scheduler-db-5fk8t2"}}]
    pod["volumes"] = [{"name": "home", "persistentVolumeClaim": {"claimName": "vigil-scheduler-state"}}]
    problems = manifests.check_scheduler({"vigil-scheduler": scheduler})
    assert any("run 2 replicas" in p for p in problems)
    assert any("volume claim would pin it" in p for p in problems)
    assert not any("Recreate" in p for p in problems), "a rolling update is fine with the lease in PostgreSQL"
    scheduler["spec"]["replicas"] = 2
    del pod["volumes"]
    assert manifests.check_scheduler({"vigil-scheduler": scheduler}) == []
