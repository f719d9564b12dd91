"""``vigil retention apply``: delete data older than the retention period (default 90 days).

Elasticsearch aliases, Kafka topic retention, log and report files and the alert inbox.
Meant for a daily cron job or Kubernetes CronJob; ``--dry-run`` lists what would go.
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from vigil.app.cli import settings

app = typer.Typer(
    help="Data retention: Elasticsearch, Kafka topics, logs, reports, the alert inbox.", no_args_is_help=True
)
console = Console()


@app.command()
def apply(
    days: int | None = typer.Option(
        None, "--days", min=1, help="keep this many days (default: retention_days setting, 90)"
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="count what would be deleted, delete nothing"),
    only: list[str] | None = typer.Option(
        None, "--only", help="limit to these aliases by key: ads, entities, alerts, jobs, pages (repeatable)"
    ),
    batch_size: int = typer.Option(1000, "--batch-size", min=1, max=10000, help="ids per bulk delete"),
    es_only: bool = typer.Option(False, "--es-only", help="only the Elasticsearch aliases"),
) -> None:
    """Delete documents older than N days from the ads, entities, alerts, jobs and pages aliases; set
    the configured retention on the Kafka topics; delete old log and report files and inbox lines."""
    from vigil.app.retention import AGE_FIELDS, cutoff, purge
    from vigil.core.elastic import client

    cfg = settings()
    keep = days or cfg.retention_days
    unknown = sorted(set(only or []) - AGE_FIELDS.keys())
    if unknown:
        Console(stderr=True).print(f"[red]error:[/red] --only: unknown alias key(s) {', '.join(unknown)}")
        raise typer.Exit(2)
    es = client(cfg.es)
    try:
        outcomes = purge(es, cfg.es, keep, dry_run=dry_run, only=only, batch_size=batch_size)
    except Exception as exc:  # noqa: BLE001 - the CLI names the cause and exits non-zero
        Console(stderr=True).print(f"[red]error:[/red] retention failed: {type(exc).__name__}: {exc}")
        raise typer.Exit(1) from None
    finally:
        es.close()

    verb = "would delete" if dry_run else "deleted"
    table = Table(title=f"older than {keep} days (before {cutoff(keep):%Y-%m-%d %H:%M} UTC)")
    for column in ("alias", "age field", "matched", verb):
        table.add_column(column)
    for outcome in outcomes:
        fields = " > ".join(AGE_FIELDS[outcome.key])
        if outcome.absent:
            table.add_row(outcome.alias, fields, "-", "absent")
            continue
        done = outcome.matched if dry_run else outcome.deleted
        table.add_row(outcome.alias, fields, str(outcome.matched), str(done))
    console.print(table)
    if not (es_only or only):
        _topics_and_files(cfg, dry_run)
        _evidence(cfg, dry_run)
    failures = sum(o.errors for o in outcomes)
    if failures:
        Console(stderr=True).print(f"[red]error:[/red] {failures} documents could not be deleted")
        raise typer.Exit(1)


def _topics_and_files(cfg, dry_run: bool) -> None:
    from vigil.app.retention import purge_files, topic_retention

    try:
        topics = topic_retention(cfg.kafka, dry_run=dry_run)
        files = purge_files(cfg, dry_run=dry_run)
    except Exception as exc:  # noqa: BLE001 - the CLI names the cause and exits non-zero
        Console(stderr=True).print(f"[red]error:[/red] retention failed: {type(exc).__name__}: {exc}")
        raise typer.Exit(1) from None
    table = Table(title="Kafka topics (Kafka deletes segments older than retention.ms itself)")
    for column in ("topic", "retention.ms now", "configured", "action"):
        table.add_column(column)
    for t in topics:
        action = "-" if t.current == t.configured else ("would set" if dry_run else "set")
        table.add_row(t.topic, t.current or "absent", t.configured, action)
    console.print(table)
    console.print("files:" if files else "files: nothing is old enough", highlight=False)
    for f in files:
        what = "" if f.lines is None else f" ({f.lines} of {f.of_lines} lines)"
        verb = "would delete" if dry_run else "deleted"
        console.print(f"  {verb} {f.kind} {f.path}{what}", highlight=False, soft_wrap=True)


def _evidence(cfg, dry_run: bool) -> None:
    """Evidence older than evidence.retention_days (else retention_days), except held ads'; --days, an
    ad-hoc override for the indices, never shortens the life of evidence."""
    from vigil.app.audit import record
    from vigil.app.evidence import purge_evidence
    from vigil.app.retention import cutoff
    from vigil.core.elastic import client
    from vigil.core.evidence import open_store

    days = cfg.evidence.retention_days or cfg.retention_days
    before = cutoff(days)
    es = client(cfg.es)
    try:
        doomed = purge_evidence(
            cfg,
            open_store(cfg),
            es,
            before,
            dry_run=dry_run,
            audit=lambda d: record(cfg, "evidence.retention", {"deleted": len(d), "before": before.isoformat()}, es=es),
        )
    except Exception as exc:  # noqa: BLE001 - the CLI names the cause and exits non-zero
        Console(stderr=True).print(f"[red]error:[/red] evidence retention failed: {type(exc).__name__}: {exc}")
        raise typer.Exit(1) from None
    finally:
        es.close()
    verb = "would delete" if dry_run else "deleted"
    console.print(
        f"evidence older than {days} days: {len(doomed)} objects {verb} (held ads and manifests kept)",
        highlight=False,
    )
    for stored in doomed[:50]:
        console.print(f"  {verb} {stored.name}", highlight=False, soft_wrap=True)
