"""The demo's closing summary: what was found, and the commands to explore it further.

The networks and the escalation come from the analyst views (vigil/app/analyst/overview.py), so the
summary shows what ``vigil report`` will show; the suggested commands use values found in this run.
"""

from __future__ import annotations

import shlex
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from vigil.app.analyst import overview
from vigil.app.demo.alert_rules import HIGH_RISK
from vigil.app.demo.arrivals import WATCHED_PHONE
from vigil.app.demo.progress import Snapshot
from vigil.core.config import Indices


@dataclass
class Findings:
    networks: list[overview.SharedEntity]
    escalations: list[dict]


def findings(es, indices: Indices) -> Findings:
    es.indices.refresh(index=indices.ads)
    return Findings(
        overview.shared_entities(es, indices.ads, size=6), overview.escalations(es, indices.ads, size=5)
    )


def explore_commands(found: Findings, config_path: Path | None, report_path: Path) -> list[str]:
    """Commands that give results on this run's data, starting from the watched network's phone."""
    from vigil.core.entities import normalize

    vigil = "vigil" + (f" --config {shlex.quote(str(config_path))}" if config_path else "")
    commands = [f"{vigil} search 'Paspoort' --country NL", f"{vigil} search '*' --min-risk {HIGH_RISK}"]
    watched = normalize("phone", WATCHED_PHONE)
    phones = sorted((n for n in found.networks if n.type == "phone"), key=lambda n: n.value != watched)
    wallet = next((n for n in found.networks if n.type == "wallet"), None)
    for entity in [*phones[:1], *([wallet] if wallet else [])]:
        commands.append(f"{vigil} entity {shlex.quote(entity.value)}")
    for ad in found.escalations[:1]:
        for indicator in (ad.get("indicator_ids") or [])[:1]:
            commands.append(f"{vigil} search '*' --indicator {shlex.quote(indicator)}")
    commands += [
        f"{vigil} alerts history --rule watchlist",
        f"{vigil} report --out {shlex.quote(str(report_path))}",
    ]
    return commands


def render(
    console: Console,
    snapshot: Snapshot,
    found: Findings,
    seconds: float,
    inbox: Path,
    commands: list[str],
) -> None:
    counts = Table.grid(padding=(0, 2))
    counts.add_column(style="bold")
    counts.add_column()
    rules = Counter(a.rule_id for a in snapshot.alerts)
    counts.add_row("run time", f"{seconds:.0f} s")
    counts.add_row(
        "board", f"{snapshot.board_ads} ads; {snapshot.jobs.finished} crawl jobs, {snapshot.jobs.pages} pages"
    )
    counts.add_row("indexed", f"{snapshot.ads} ads, {snapshot.entities} entities")
    counts.add_row(
        "alerts",
        f"{len(snapshot.alerts)} ({', '.join(f'{r} {n}' for r, n in sorted(rules.items())) or 'none'})",
    )
    counts.add_row("delivered to", f"the webhook ({snapshot.webhook} posts) and {inbox}")

    networks = Table(
        "entity",
        "value",
        "ads",
        "countries",
        title="networks: entities shared across countries",
        title_justify="left",
        box=None,
        padding=(0, 1),
    )
    for n in found.networks:
        networks.add_row(n.type, n.value, str(n.ads), ", ".join(n.countries))
    escalations = Table(
        "risk",
        "ad",
        "indicators",
        title="escalated for review",
        title_justify="left",
        box=None,
        padding=(0, 1),
    )
    for ad in found.escalations:
        escalations.add_row(
            str(ad.get("risk", "")),
            Text(f"{ad.get('title', '')}\n{ad.get('url', '')}"),
            ", ".join(ad.get("indicator_ids") or []),
        )
    explore = Text("\n".join(f"  {c}" for c in commands))
    console.print(
        Panel(
            Group(
                counts,
                Text(""),
                networks if found.networks else Text("no cross-border entities found"),
                Text(""),
                escalations if found.escalations else Text("no escalated ads"),
                Text("\nExplore further:", style="bold"),
                explore,
            ),
            title="vigil demo — summary",
            border_style="green",
        )
    )
