#!/usr/bin/env python3
"""deploy/prometheus/prometheus.yml scrapes the compose stack's Vigil services on their metrics port.

Usage: prometheus.py deploy/prometheus/prometheus.yml deploy/compose.yaml
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROLES = {"scheduler", "crawl", "enrich", "alerts"}


def problems(config: dict, compose: dict) -> list[str]:
    found = []
    jobs = [job.get("job_name") for job in config.get("scrape_configs") or []]
    if len(jobs) != len(set(jobs)):
        found.append(f"duplicate job_name in {jobs}")
    services = compose.get("services") or {}
    scraped: set[str] = set()
    for job in config.get("scrape_configs") or []:
        for sd in job.get("dns_sd_configs") or []:
            for name in sd.get("names") or []:
                scraped.add(name)
                if name not in services:
                    found.append(f"job {job['job_name']} scrapes {name}, which compose does not define")
                    continue
                port = str((services[name].get("environment") or {}).get("VIGIL_METRICS_PORT"))
                if port != str(sd.get("port")):
                    found.append(f"{name}: scraped on port {sd.get('port')}, VIGIL_METRICS_PORT is {port}")
    found += [f"no job scrapes the {role} role" for role in sorted(ROLES - scraped)]
    return found


def main(argv: list[str]) -> int:
    config = yaml.safe_load(Path(argv[0]).read_text(encoding="utf-8"))
    compose = yaml.safe_load(Path(argv[1]).read_text(encoding="utf-8"))
    found = problems(config, compose)
    for problem in found:
        print(f"{argv[0]}: {problem}")
    if not found:
        print(f"{argv[0]}: every role is scraped on its metrics port")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
