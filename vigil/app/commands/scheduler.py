"""``vigil scheduler``: run the watch scheduler (leader or standby) until stopped."""

from __future__ import annotations

import signal
import threading

import typer

from vigil.app.cli import err, settings


def register(root: typer.Typer) -> None:
    root.command("scheduler")(scheduler)


def scheduler() -> None:
    """Publish a crawl job for every due watch; several schedulers may run, one leads (a lease)."""
    from scheduler.service import SchedulerService
    from vigil.app.commands.worker import configure_logging
    from vigil.core.metrics import serve

    cfg = settings()
    configure_logging(cfg.log_level)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        service = SchedulerService(cfg)
    except Exception as exc:  # noqa: BLE001 - named and exit non-zero
        err.print(f"[red]error:[/red] scheduler cannot start: {type(exc).__name__}: {exc}")
        raise typer.Exit(1) from None
    serve(cfg.metrics_port)
    service.run(stop)
