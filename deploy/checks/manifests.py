#!/usr/bin/env python3
"""Rules the rendered Kubernetes manifests must keep, beyond what the JSON schemas can say.

kubeconform proves each object is well-formed; this proves the deployment is the one we mean:
schedulers sharing a database lease (or one with Recreate), KEDA scaling on the right groups and topics, tor beside every
crawler, a locked-down crawler egress, requests and limits everywhere, PDBs, metrics.

Usage: manifests.py RENDERED.yaml ...   (output of `kustomize build` per overlay)
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Any

import yaml

PRIVATE_RANGES = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10"}
SCALING = {  # Deployment -> (consumer group, topic) it scales on
    "vigil-crawl": ("vigil-crawl", "vigil.crawl.jobs"),
    "vigil-enrich": ("vigil-enrich", "vigil.pages.raw"),
}
ROLES = {
    "vigil-scheduler": ["vigil", "scheduler"],
    "vigil-crawl": ["vigil", "worker", "crawl"],
    "vigil-enrich": ["vigil", "worker", "enrich"],
    "vigil-alerts": ["vigil", "worker", "alerts"],
    "vigil-images": ["vigil", "worker", "images"],
    "vigil-networks": ["vigil", "worker", "networks"],
}
PLACEHOLDER_MARKERS = ("change-me", "example")


def load(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if isinstance(d, dict)]


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d.get("kind") == kind}


def pod_containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return list(spec.get("initContainers") or []) + list(spec.get("containers") or [])


def check_roles(deployments: dict[str, dict[str, Any]]) -> list[str]:
    problems = []
    for name, args in ROLES.items():
        if name not in deployments:
            problems.append(f"Deployment {name} is missing")
            continue
        main = deployments[name]["spec"]["template"]["spec"]["containers"][0]
        if main.get("args") != args and main.get("command") != args:
            problems.append(f"{name}: first container runs {main.get('args')}, expected {args}")
        if not any(p.get("name") == "metrics" for p in main.get("ports") or []):
            problems.append(f"{name}: no container port named metrics")
    return problems


SCHEDULER_DB = "vigil-scheduler-db"  # the Secret holding VIGIL_SCHEDULER_JOBSTORE_URL


def check_scheduler(deployments: dict[str, dict[str, Any]]) -> list[str]:
    """Schedulers on the shared database (the Secret) may be several; without it, only one."""
    spec = deployments.get("vigil-scheduler", {}).get("spec", {})
    pod = (spec.get("template") or {}).get("spec") or {}
    main = (pod.get("containers") or [{}])[0]
    shared = any(
        (source.get("secretRef") or {}).get("name", "").startswith(SCHEDULER_DB)  # a generator adds -<hash>
        and not (source.get("secretRef") or {}).get("optional", False)
        for source in main.get("envFrom") or []
    )
    problems = []
    if shared:
        if (spec.get("replicas") or 1) < 2:
            problems.append("vigil-scheduler: run 2 replicas on the shared job store, so one stands by")
        if any("persistentVolumeClaim" in volume for volume in pod.get("volumes") or []):
            problems.append("vigil-scheduler: its state is in the database; a volume claim would pin it to one node")
        return problems
    if spec.get("replicas") != 1:
        problems.append(
            f"vigil-scheduler: replicas must be 1 without the Secret {SCHEDULER_DB} "
            f"(SQLite gives no lease between pods), got {spec.get('replicas')}"
        )
    if (spec.get("strategy") or {}).get("type") != "Recreate":
        problems.append("vigil-scheduler: strategy must be Recreate (never two schedulers at once on SQLite)")
    return problems


def pod_specs(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Workload name -> its pod spec, for Deployments and CronJobs."""
    specs = {name: d["spec"]["template"]["spec"] for name, d in by_kind(docs, "Deployment").items()}
    for name, cron in by_kind(docs, "CronJob").items():
        specs[name] = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return specs


def check_resources(docs: list[dict[str, Any]]) -> list[str]:
    problems = []
    for name, spec in pod_specs(docs).items():
        if not (spec.get("securityContext") or {}).get("runAsNonRoot"):
            problems.append(f"{name}: pods must set runAsNonRoot")
        for container in pod_containers(spec):
            resources = container.get("resources") or {}
            for part in ("requests", "limits"):
                for key in ("cpu", "memory"):
                    if key not in (resources.get(part) or {}):
                        problems.append(f"{name}/{container['name']}: no {part}.{key}")
    return problems


def check_tor_sidecar(deployments: dict[str, dict[str, Any]]) -> list[str]:
    spec = deployments.get("vigil-crawl", {}).get("spec", {}).get("template", {}).get("spec", {})
    tor = [c for c in pod_containers(spec) if (c.get("args") or [None])[0] == "tor"]
    if not tor:
        return ["vigil-crawl: no tor sidecar"]
    if tor[0] in (spec.get("initContainers") or []) and tor[0].get("restartPolicy") != "Always":
        return ["vigil-crawl: tor init container needs restartPolicy Always (a native sidecar)"]
    return []


def check_scaling(docs: list[dict[str, Any]]) -> list[str]:
    problems = []
    scaled = by_kind(docs, "ScaledObject")
    for deployment, (group, topic) in SCALING.items():
        found = [s for s in scaled.values() if s["spec"]["scaleTargetRef"]["name"] == deployment]
        if not found:
            problems.append(f"no ScaledObject targets {deployment}")
            continue
        triggers = [t for t in found[0]["spec"]["triggers"] if t["type"] == "kafka"]
        if not triggers:
            problems.append(f"ScaledObject for {deployment}: no kafka trigger")
            continue
        meta = triggers[0]["metadata"]
        if meta.get("consumerGroup") != group or meta.get("topic") != topic:
            problems.append(f"ScaledObject for {deployment}: expected group {group} on {topic}, got {meta}")
        if "lagThreshold" not in meta:
            problems.append(f"ScaledObject for {deployment}: no lagThreshold")
    return problems


def check_pdbs(docs: list[dict[str, Any]]) -> list[str]:
    covered = {
        (p["spec"].get("selector") or {}).get("matchLabels", {}).get("app.kubernetes.io/component")
        for p in by_kind(docs, "PodDisruptionBudget").values()
    }
    return [f"no PodDisruptionBudget for {c} workers" for c in ("crawl", "enrich") if c not in covered]


def check_crawl_egress(docs: list[dict[str, Any]], component: str = "crawl") -> list[str]:
    """The workers that fetch untrusted URLs (crawl, images) reach only DNS, Kafka, ES and the internet."""
    policies = [
        p
        for p in by_kind(docs, "NetworkPolicy").values()
        if p["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/component") == component
    ]
    if not policies:
        return [f"no NetworkPolicy selects the {component} workers"]
    spec = policies[0]["spec"]
    problems = []
    if "Egress" not in spec.get("policyTypes", []):
        problems.append(f"{component} NetworkPolicy does not restrict egress")
    blocks = [
        peer["ipBlock"] for rule in spec.get("egress", []) for peer in rule.get("to", []) if "ipBlock" in peer
    ]
    internet = [b for b in blocks if b["cidr"] == "0.0.0.0/0"]
    if not internet:
        problems.append(f"{component} NetworkPolicy: no internet (0.0.0.0/0) egress rule")
    elif not PRIVATE_RANGES <= set(internet[0].get("except", [])):
        missing = sorted(PRIVATE_RANGES - set(internet[0].get("except", [])))
        problems.append(f"{component} NetworkPolicy: internet rule does not exclude {missing}")
    ports = {p.get("port") for rule in spec.get("egress", []) for p in rule.get("ports", [])}
    if 53 not in ports:
        problems.append(f"{component} NetworkPolicy: no DNS egress")
    pod_peers = [
        peer for rule in spec.get("egress", []) for peer in rule.get("to", []) if "podSelector" in peer
    ]
    if not any("kube-dns" in str(p) for p in pod_peers):
        problems.append(f"{component} NetworkPolicy: DNS must go to kube-dns")
    return problems


# Secrets that the ECK operator creates for the Elasticsearch cluster vigil-es.
OPERATOR_SECRETS = ("vigil-es-es-",)


def check_references(docs: list[dict[str, Any]]) -> list[str]:
    """Every ConfigMap and Secret a pod or a KEDA trigger names is rendered (hash suffix included)."""
    config_maps = set(by_kind(docs, "ConfigMap"))
    secrets = set(by_kind(docs, "Secret"))
    problems = []

    def need(owner: str, kind: str, name: str, optional: bool = False) -> None:
        known = config_maps if kind == "ConfigMap" else secrets
        if name in known or optional or (kind == "Secret" and name.startswith(OPERATOR_SECRETS)):
            return
        problems.append(f"{owner}: {kind} {name} is not part of the rendered manifests")

    for owner, spec in pod_specs(docs).items():
        for container in pod_containers(spec):
            for source in container.get("envFrom") or []:
                if "configMapRef" in source:
                    ref = source["configMapRef"]
                    need(owner, "ConfigMap", ref["name"], ref.get("optional", False))
                if "secretRef" in source:
                    ref = source["secretRef"]
                    need(owner, "Secret", ref["name"], ref.get("optional", False))
            for env in container.get("env") or []:
                ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    need(owner, "Secret", ref["name"], ref.get("optional", False))
        for volume in spec.get("volumes") or []:
            if "configMap" in volume:
                need(
                    owner,
                    "ConfigMap",
                    volume["configMap"]["name"],
                    volume["configMap"].get("optional", False),
                )
            if "secret" in volume:
                need(owner, "Secret", volume["secret"]["secretName"], volume["secret"].get("optional", False))
    auths = by_kind(docs, "TriggerAuthentication")
    for name, auth in auths.items():
        for ref in auth["spec"].get("secretTargetRef") or []:
            need(f"TriggerAuthentication {name}", "Secret", ref["name"])
    for name, scaled in by_kind(docs, "ScaledObject").items():
        for trigger in scaled["spec"]["triggers"]:
            ref = (trigger.get("authenticationRef") or {}).get("name")
            if ref and ref not in auths:
                problems.append(f"ScaledObject {name}: TriggerAuthentication {ref} is not rendered")
    return problems


def check_metrics_scraped(docs: list[dict[str, Any]]) -> list[str]:
    monitors = [d for d in docs if d.get("kind") in ("PodMonitor", "ServiceMonitor")]
    return [] if monitors else ["no PodMonitor or ServiceMonitor scrapes the roles"]


def check_secrets(docs: list[dict[str, Any]]) -> list[str]:
    """Rendered from the committed examples: every value must still be a placeholder."""
    problems = []
    for name, secret in by_kind(docs, "Secret").items():
        for key, value in (secret.get("data") or {}).items():
            text = base64.b64decode(value).decode("utf-8", "replace")
            if key.endswith(("PASSWORD", "TOKEN", "API_KEY")) and not any(
                m in text for m in PLACEHOLDER_MARKERS
            ):
                problems.append(f"Secret {name}: {key} does not look like a placeholder")
    return problems


def problems(docs: list[dict[str, Any]]) -> list[str]:
    deployments = by_kind(docs, "Deployment")
    return (
        check_roles(deployments)
        + check_scheduler(deployments)
        + check_resources(docs)
        + check_tor_sidecar(deployments)
        + check_scaling(docs)
        + check_pdbs(docs)
        + check_crawl_egress(docs)
        + check_crawl_egress(docs, "images")
        + check_metrics_scraped(docs)
        + check_references(docs)
        + check_secrets(docs)
    )


def main(argv: list[str]) -> int:
    failed = False
    for arg in argv:
        found = problems(load(Path(arg)))
        for problem in found:
            print(f"{arg}: {problem}")
        failed = failed or bool(found)
        if not found:
            print(f"{Path(arg).name}: deployment rules hold")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
