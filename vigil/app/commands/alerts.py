"""``vigil alerts``: check the alert rules, read the alert history, send failed alerts again."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from vigil.app.cli import err, settings

app = typer.Typer(help="Alert rules and the history of alerts sent.", no_args_is_help=True)
console = Console()


@app.command("rules")
def rules(
    rules_file: Path | None = typer.Option(
        None, "--rules", help="alerts.yaml (default: alerts_rules setting)"
    ),
) -> None:
    """Validate alerts.yaml and list its rules and subscribers (exit 2 naming the first problem)."""
    from scheduler.delivery import mask
    from scheduler.rules import RulesError, load_rules, rules_path

    path = rules_path(rules_file, settings().alerts_rules or settings().alerts.rules)
    try:
        config = load_rules(path)
    except RulesError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    table = Table("rule", "when", "subscribers", title=str(path))
    for rule in config.rules:
        when = rule.when.model_dump(exclude_defaults=True, mode="json")
        who = [s.id for s in config.subscribers if rule.id in s.rules]
        table.add_row(rule.id, json.dumps(when, ensure_ascii=False), ", ".join(who) or "-")
    console.print(table)
    subscribers = Table("subscriber", "urls", "rules", "digest")
    for s in config.subscribers:
        subscribers.add_row(
            s.id,
            "\n".join(mask(u) for u in s.urls),
            ", ".join(s.rules),
            f"{s.digest:g}s" if s.digest else "immediate",
        )
    console.print(subscribers)
    for missing in config.missing_env():
        err.print(f"[yellow]warning:[/yellow] URL variable not set here (the worker needs it): {missing}")


@app.command("history")
def history(
    as_json: bool = typer.Option(False, "--json", help="one JSON object per line"),
    limit: int = typer.Option(50, "--limit", min=1, max=10000),
    subscriber: str | None = typer.Option(None, "--subscriber"),
    status: str | None = typer.Option(None, "--status", help="pending, sending, sent, failed"),
    rule: str | None = typer.Option(None, "--rule"),
) -> None:
    """The latest alerts: what, why (rule, evidence), to whom, when, and whether it got through."""
    from scheduler.alert_store import AlertStore
    from vigil.core.elastic import client

    cfg = settings()
    try:
        alerts = AlertStore(client(cfg.es), cfg.es.indices.alerts).history(
            limit=limit, subscriber=subscriber, status=status, rule=rule
        )
    except Exception as exc:  # noqa: BLE001 - named, exit non-zero
        err.print(f"[red]error:[/red] alert history unavailable: {type(exc).__name__}: {exc}")
        raise typer.Exit(1) from None
    if as_json:
        for alert in alerts:
            print(alert.model_dump_json())
        return
    table = Table("created", "subscriber", "rule", "ad", "status", "tries", "evidence / error")
    for a in alerts:
        detail = "\n".join(a.evidence) + (f"\n[red]{a.error}[/red]" if a.error else "")
        table.add_row(
            a.created_at.isoformat(timespec="seconds"),
            a.subscriber,
            a.rule_id,
            a.url,
            a.status,
            str(a.attempts),
            detail,
        )
    console.print(table)


@app.command("show")
def show(alert_id: str = typer.Argument(..., help="the alert id (an alert's 'Open in Vigil' line)")) -> None:
    """One alert in full (the ad, the evidence, the delivery state), as JSON."""
    from scheduler.alert_store import AlertStore
    from vigil.app.audit import audited
    from vigil.core.elastic import client

    cfg = settings()
    audited(cfg, "alerts.show", alert_id=alert_id)
    try:
        found = AlertStore(client(cfg.es), cfg.es.indices.alerts).read(alert_id)
    except Exception as exc:  # noqa: BLE001 - named, exit non-zero
        err.print(f"[red]error:[/red] alert history unavailable: {type(exc).__name__}: {exc}")
        raise typer.Exit(1) from None
    if found is None:
        err.print(f"[red]error:[/red] no alert {alert_id}")
        raise typer.Exit(1)
    print(found.alert.model_dump_json(indent=2))


@app.command("retry")
def retry(
    alert_ids: list[str] = typer.Argument(None, help="alert ids (default: every failed alert that matches)"),
    subscriber: str | None = typer.Option(None, "--subscriber"),
    rule: str | None = typer.Option(None, "--rule"),
    dry_run: bool = typer.Option(False, "--dry-run", help="list what would be sent again, change nothing"),
    limit: int = typer.Option(500, "--limit", min=1, max=10000),
) -> None:
    """Send failed alerts again: they go back to pending and the running alerts worker's sweeper
    sends them at its next pass (only to the targets that did not accept them yet).

    An alert failed as "outcome unknown" may already have reached its channel: retrying it may
    send it twice there (docs/alerts.md).
    """
    from scheduler.alert_store import AlertStore
    from vigil.core.elastic import client

    cfg = settings()
    store = AlertStore(client(cfg.es), cfg.es.indices.alerts)
    try:
        if dry_run:
            moved = store.history(
                limit=limit, subscriber=subscriber, rule=rule, status="failed", alert_ids=alert_ids or None
            )
        else:
            moved = store.retry(
                alert_ids=alert_ids or None,
                subscriber=subscriber,
                rule=rule,
                due_after=cfg.alerts.stale_seconds,
                limit=limit,
            )
    except Exception as exc:  # noqa: BLE001 - named, exit non-zero
        err.print(f"[red]error:[/red] alert history unavailable: {type(exc).__name__}: {exc}")
        raise typer.Exit(1) from None
    for alert in moved:
        console.print(f"{alert.alert_id}  {alert.subscriber}  {alert.rule_id}  {alert.ad_key}", highlight=False)
    verb = "would be sent again" if dry_run else "set to pending; the alerts worker sends them at its next sweep"
    err.print(f"{len(moved)} failed alert(s) {verb}")
