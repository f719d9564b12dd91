"""``vigil init``: create the Kafka topics and install the Elasticsearch templates and aliases."""

from __future__ import annotations

import typer
from rich.console import Console

from vigil.app.cli import settings

console = Console()


def register(root: typer.Typer) -> None:
    root.command("init")(init)


def init(
    kafka_only: bool = typer.Option(False, "--kafka-only", help="only create the topics"),
    es_only: bool = typer.Option(False, "--es-only", help="only install templates and aliases"),
) -> None:
    """Idempotently create the topics and install the index templates and aliases."""
    from vigil.core.elastic import install_templates
    from vigil.core.kafka import ensure_topics

    cfg = settings()
    try:
        if not es_only:
            for topic, outcome in ensure_topics(cfg.kafka).items():
                console.print(f"topic  {topic:<24} {outcome}")
        if not kafka_only:
            for alias, outcome in install_templates(cfg.es).items():
                console.print(f"alias  {alias:<24} {outcome}")
    except Exception as exc:  # noqa: BLE001 - the CLI names the cause and exits non-zero
        Console(stderr=True).print(f"[red]error:[/red] init failed: {type(exc).__name__}: {exc}")
        raise typer.Exit(1) from None
