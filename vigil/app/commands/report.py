"""``vigil report``: write the one-file HTML report of what Vigil has found."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from vigil.app.cli import settings

console = Console()
err = Console(stderr=True)


def register(root: typer.Typer) -> None:
    root.command("report")(report)


def report(
    out: Path = typer.Option(Path("vigil-report.html"), "--out", "-o", help="HTML file to write"),
    days: int = typer.Option(30, "--days", min=1, max=3660, help="days of activity to chart"),
    max_graph_ads: int = typer.Option(300, "--max-graph-ads", min=10, help="ads drawn in the network"),
) -> None:
    """A self-contained HTML report: activity, risk, indicators, cross-border entities, network, escalations."""
    from vigil.app.analyst.errors import describe
    from vigil.app.analyst.report import collect, render, summary
    from vigil.app.audit import audited
    from vigil.core.elastic import client

    cfg = settings()
    alias = cfg.es.indices.ads
    audited(cfg, "report", out=str(out.resolve()), days=days, max_graph_ads=max_graph_ads)
    try:
        data = collect(
            client(cfg.es), alias, days=days, max_graph_ads=max_graph_ads, networks_alias=cfg.es.indices.networks
        )
    except Exception as exc:  # noqa: BLE001 - every failure becomes one clear line
        err.print(f"[red]error:[/red] {describe(exc, alias)}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render(data), encoding="utf-8")
    except OSError as exc:
        err.print(f"[red]error:[/red] cannot write {out}: {exc.strerror or exc}", highlight=False)
        raise typer.Exit(1) from None
    facts = summary(data)
    console.print(
        f"wrote {out} — {facts['ads']} ads, {facts['escalated']} to escalate, "
        f"{facts['networks']} linked networks ({facts['graph_nodes']} nodes, {facts['graph_links']} links)",
        highlight=False,
    )
