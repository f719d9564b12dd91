"""``vigil worker <role>``: the long-running consumers, one command per role.

Each command is one function that imports its implementation lazily (``vigil --help`` stays
fast) and hands back the worker's exit code.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import typer

from vigil.app.cli import settings

app = typer.Typer(help="Run a long-running worker (consumes Kafka until SIGTERM).", no_args_is_help=True)


def configure_logging(level: str) -> None:
    """structlog to stderr: key=value lines on a terminal, JSON lines otherwise (for log shippers)."""
    import structlog

    renderer = structlog.dev.ConsoleRenderer() if sys.stderr.isatty() else structlog.processors.JSONRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("elastic_transport").setLevel(logging.ERROR)  # outages are logged by the worker
    # joins, leaves and assignments: a handful of lines per rebalance, and what tells a stall apart
    logging.getLogger("kafka.coordinator").setLevel(logging.INFO)


@app.command()
def enrich(
    batch_size: int = typer.Option(200, "--batch-size", min=1, help="records per poll, analysis and bulk"),
    group: str = typer.Option("vigil-enrich", "--group", help="Kafka consumer group"),
    metrics_port: int | None = typer.Option(
        None,
        "--metrics-port",
        min=0,
        max=65535,
        help="Prometheus port (default: metrics_port setting; 0 = off)",
    ),
) -> None:
    """Analyse raw pages into ad documents, entities and ad events (at-least-once, idempotent)."""
    from pipelines.worker import run_enrich_worker
    from vigil.core.metrics import serve

    cfg = settings()
    for section, taken in cfg.consumer_groups().items():
        if taken == group:
            raise typer.BadParameter(
                f"{group!r} is {section}.group_id already: the enrich worker needs a consumer group of its own",
                param_hint="--group",
            )
    configure_logging(cfg.log_level)
    serve(cfg.metrics_port if metrics_port is None else metrics_port)
    raise typer.Exit(run_enrich_worker(cfg, group=group, batch_size=batch_size))


@app.command()
def crawl(
    slots: int | None = typer.Option(None, "--slots", min=1, help="crawls at once (default: jobs.slots)"),
) -> None:
    """Run crawl jobs as `vigil crawl` subprocesses, one per profile at a time; report their status."""
    from crawlers.worker import run_crawl_worker
    from vigil.core.metrics import serve

    cfg = settings()
    configure_logging(cfg.log_level)
    serve(cfg.metrics_port)
    raise typer.Exit(run_crawl_worker(cfg, slots=slots))


@app.command()
def alerts(
    rules: Path | None = typer.Option(None, "--rules", help="alerts.yaml (default: alerts_rules setting)"),
) -> None:
    """Match ad events against the alert rules and notify subscribers (each alert at most once)."""
    from scheduler.alerts_worker import run_alerts_worker
    from vigil.core.metrics import serve

    cfg = settings()
    configure_logging(cfg.log_level)
    serve(cfg.metrics_port)
    raise typer.Exit(run_alerts_worker(cfg, rules))


@app.command()
def images(
    group: str | None = typer.Option(None, "--group", help="Kafka consumer group (default: images.group_id)"),
    batch_size: int = typer.Option(10, "--batch-size", min=1, help="ad events per poll"),
) -> None:
    """Fetch the images of ads whose profile opts in (never over Tor, never for escalated ads), OCR
    and hash them in memory, and add the findings to the ad (docs/images.md)."""
    from pipelines.image_worker import run_image_worker
    from vigil.core.metrics import serve

    cfg = settings()
    configure_logging(cfg.log_level)
    serve(cfg.metrics_port)
    raise typer.Exit(run_image_worker(cfg, group=group, batch_size=batch_size))


@app.command()
def networks(
    batch_size: int = typer.Option(200, "--batch-size", min=1, help="link records per poll"),
    group: str | None = typer.Option(None, "--group", help="Kafka consumer group (default: networks.group_id)"),
) -> None:
    """Link enriched ads into networks: network ids on ads, the networks index, network events."""
    from pipelines.network_worker import run_network_worker
    from vigil.core.metrics import serve

    cfg = settings()
    configure_logging(cfg.log_level)
    serve(cfg.metrics_port)
    raise typer.Exit(run_network_worker(cfg, group=group, batch_size=batch_size))
