"""One line per measured figure next to its issue target, with PASS or BELOW (`make bench` collects
them into a summary at the end when ``BENCH_SUMMARY`` names a file)."""

from __future__ import annotations

import os


def report(name: str, value: float, target: float, unit: str = "", higher: bool = True) -> bool:
    """Print ``name: value unit (target >= target) PASS|BELOW``; ``higher=False`` for ceilings."""
    ok = value >= target if higher else value <= target
    line = f"TARGET {name}: {value:.2f}{' ' + unit if unit else ''} (target {'>=' if higher else '<='} {target:g}) {'PASS' if ok else 'BELOW'}"
    print(line, flush=True)
    if path := os.environ.get("BENCH_SUMMARY"):
        with open(path, "a", encoding="utf-8") as summary:
            summary.write(line + "\n")
    return ok
