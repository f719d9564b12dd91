"""``vigil demo``: run the whole system against a local ad board and show the alerts arriving.

Exit codes: 0 the demo ran (with ``--once``: the new ads' alerts arrived); 1 it could not (the
stack, a worker, a port, or the time limit: the message names which); 130 interrupted (Ctrl-C),
after stopping everything it started.
"""

from __future__ import annotations

import signal
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from vigil.app.cli import err, settings
from vigil.app.demo.runner import DEFAULT_PORT, DEFAULT_TIMEOUT


def register(root: typer.Typer) -> None:
    root.command("demo")(demo)


def demo(
    once: bool = typer.Option(False, "--once", help="exit once the new ads' alerts have arrived"),
    port: int = typer.Option(
        DEFAULT_PORT, "--port", min=0, max=65535, help="the demo board's port on 127.0.0.1"
    ),
    directory: Path | None = typer.Option(
        None, "--dir", help="profiles, rules, inbox, scheduler database and logs (default <state dir>/demo)"
    ),
    timeout: float = typer.Option(
        DEFAULT_TIMEOUT, "--timeout", min=30, help="seconds until the alerts must be in"
    ),
) -> None:
    """Crawl, enrich and alert on a local demo ad board, then show how to explore the results."""
    from vigil.app.cli import state
    from vigil.app.demo.runner import DemoError, DemoOptions, run

    cfg = settings()
    options = DemoOptions(
        once=once, port=port, directory=directory, timeout=timeout, config_path=state.config
    )
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.default_int_handler)
    try:
        run(cfg, options, Console())
    except DemoError as exc:
        err.print(f"[red]error:[/red] demo failed: {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err.print("demo interrupted; everything it started has been stopped")
        raise typer.Exit(130) from None
