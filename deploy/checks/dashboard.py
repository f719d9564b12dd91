#!/usr/bin/env python3
"""Every metric the Grafana dashboard queries is one that vigil/core/metrics.py exports.

The names come from the collectors themselves (prometheus_client), so a renamed metric breaks
this check rather than a panel going silently empty. Counters are queried with ``_total``,
histograms through ``_bucket``/``_sum``/``_count``, as Prometheus stores them.

Usage: dashboard.py deploy/grafana/vigil-dashboard.json
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

METRIC = re.compile(r"\bvigil_[a-zA-Z0-9_]+")
# What each panel group of the dashboard must show (issue: pages/s, records published, lag,
# errors by cause, bulk latency, alerts sent/failed, Tor circuit health).
REQUIRED = [
    "vigil_pages_fetched_total",
    "vigil_records_published_total",
    "vigil_consumer_lag",
    "vigil_crawl_errors_total",
    "vigil_enrich_errors_total",
    "vigil_bulk_latency_seconds_bucket",
    "vigil_alerts_sent_total",
    "vigil_alerts_failed_total",
    "vigil_tor_circuits",
]
SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("", "_sum", "_count"),
}


def exported_series() -> dict[str, str]:
    """PromQL series name -> metric family, for every collector defined in vigil.core.metrics."""
    from prometheus_client.metrics import MetricWrapperBase

    import vigil.core.metrics as metrics

    series: dict[str, str] = {}
    for value in vars(metrics).values():
        if not isinstance(value, MetricWrapperBase):
            continue
        for family in value.describe():
            for suffix in SUFFIXES.get(family.type, ("",)):
                series[family.name + suffix] = family.name
    return series


def expressions(node: Any) -> list[str]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("expr", "query") and isinstance(value, str):
                found.append(value)
            else:
                found.extend(expressions(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(expressions(value))
    return found


def problems(dashboard: dict[str, Any], series: dict[str, str]) -> tuple[list[str], list[str]]:
    """(problems, notes): unknown names fail; exported families not on the dashboard are noted."""
    used = {name for expr in expressions(dashboard) for name in METRIC.findall(expr)}
    found = [f"{name} is not exported by vigil/core/metrics.py" for name in sorted(used - series.keys())]
    found += [f"no panel shows {name}" for name in REQUIRED if name not in used]
    families = set(series.values()) - {series[name] for name in used if name in series}
    notes = [f"metric {name} is exported but on no panel" for name in sorted(families)]
    return found, notes


def main(argv: list[str]) -> int:
    path = Path(argv[0])
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    series = exported_series()
    found, notes = problems(dashboard, series)
    for note in notes:
        print(f"{path}: note: {note}")
    for problem in found:
        print(f"{path}: {problem}")
    if not found:
        print(f"{path}: {len(expressions(dashboard))} queries, all metric names exported by vigil/core/metrics.py")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
