#!/usr/bin/env python3
"""deploy/compose.yaml references only what it defines, and runs every role from our image.

No Docker engine is needed: the file is parsed with PyYAML (anchors and merge keys included)
and checked for what `docker compose config` would reject or what would fail at run time.

Usage: compose.py deploy/compose.yaml
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

ROLES = {  # service -> command it must run
    "scheduler": ["vigil", "scheduler"],
    "crawl": ["vigil", "worker", "crawl"],
    "enrich": ["vigil", "worker", "enrich"],
    "networks": ["vigil", "worker", "networks"],
    "alerts": ["vigil", "worker", "alerts"],
    "images": ["vigil", "worker", "images"],
}
REPLICAS = {"crawl": 2, "enrich": 2, "scheduler": 2}
THIRD_PARTY = {  # service -> image repository it must use
    "kafka": "apache/kafka",
    "elasticsearch": "docker.elastic.co/elasticsearch/elasticsearch",
    "kibana": "docker.elastic.co/kibana/kibana",
    "prometheus": "prom/prometheus",
    "grafana": "grafana/grafana",
    "postgres": "postgres",
}
DOCKERFILE = "deploy/Dockerfile"


def depends_on(service: dict[str, Any]) -> list[str]:
    deps = service.get("depends_on") or []
    return list(deps) if isinstance(deps, dict | list) else []


def problems(path: Path) -> list[str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    services: dict[str, Any] = data.get("services") or {}
    found: list[str] = []
    base = path.parent

    vigil_images = set()
    for name, service in services.items():
        for dep in depends_on(service):
            if dep not in services:
                found.append(f"service {name} depends on undefined service {dep}")
        build = service.get("build")
        if build:
            context = base / (build if isinstance(build, str) else build.get("context", "."))
            dockerfile = build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile"
            if (context / dockerfile).resolve() != (base.parent / DOCKERFILE).resolve():
                found.append(f"service {name} builds {context / dockerfile}, not {DOCKERFILE}")
            vigil_images.add(service.get("image"))
        elif "image" not in service:
            found.append(f"service {name} has neither image nor build")
        for volume in service.get("volumes") or []:
            source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith((".", "/")):
                if source.startswith(".") and not (base / source).exists():
                    found.append(f"service {name} mounts {source}, which does not exist")
            elif source not in (data.get("volumes") or {}):
                found.append(f"service {name} uses undefined volume {source}")
        for config in service.get("configs") or []:
            source = config if isinstance(config, str) else config.get("source")
            if source not in (data.get("configs") or {}):
                found.append(f"service {name} uses undefined config {source}")

    for name, config in (data.get("configs") or {}).items():
        if "file" in config and not (base / config["file"]).exists():
            found.append(f"config {name}: file {config['file']} does not exist")

    if len(vigil_images) != 1:
        found.append(
            f"the Vigil services should share one built image, found {sorted(map(str, vigil_images))}"
        )
    for name, command in ROLES.items():
        service = services.get(name)
        if service is None:
            found.append(f"service {name} is missing")
            continue
        if not service.get("build") or service.get("image") not in vigil_images:
            found.append(f"service {name} must run the image built from {DOCKERFILE}")
        if service.get("command") != command:
            found.append(f"service {name} runs {service.get('command')}, expected {command}")
    for name, replicas in REPLICAS.items():
        got = ((services.get(name) or {}).get("deploy") or {}).get("replicas", 1)
        if got != replicas:
            found.append(f"service {name}: {got} replicas, expected {replicas}")
    for name, repository in THIRD_PARTY.items():
        image = (services.get(name) or {}).get("image", "")
        if image.rpartition(":")[0] != repository:
            found.append(f"service {name}: image {image!r} is not a pinned {repository}:<tag>")
    if "tor" not in services or (services["tor"].get("command") or [None])[0] != "tor":
        found.append("service tor is missing or does not run tor")
    found += scheduler_problems(services)
    return found


def scheduler_problems(services: dict[str, Any]) -> list[str]:
    """Several schedulers need one shared database for their lease (SQLite on a volume is per host)."""
    scheduler = services.get("scheduler") or {}
    replicas = (scheduler.get("deploy") or {}).get("replicas", 1)
    url = str((scheduler.get("environment") or {}).get("VIGIL_SCHEDULER_JOBSTORE_URL", ""))
    if replicas > 1 and not url.startswith(("postgresql://", "postgresql+psycopg://")):
        return [f"service scheduler: {replicas} replicas need VIGIL_SCHEDULER_JOBSTORE_URL on PostgreSQL"]
    if replicas > 1 and "postgres" not in depends_on(scheduler):
        return ["service scheduler must wait for the postgres service (depends_on)"]
    return []


def main(argv: list[str]) -> int:
    found = problems(Path(argv[0]))
    for problem in found:
        print(f"{argv[0]}: {problem}")
    if not found:
        print(f"{argv[0]}: services, images, volumes and configs are consistent")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
