"""The ``vigil`` command: one entry point for every role (stack, crawl, workers, scheduler, ...).

Each command group lives in ``vigil/app/commands/<group>.py`` and exposes ``app`` (a typer app) or
``register(root)``; heavy libraries are imported inside the commands so that ``vigil --help``
stays fast.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import typer
from rich.console import Console

from vigil.core.config import ConfigError, Settings, load_settings

err = Console(stderr=True)

app = typer.Typer(
    name="vigil",
    help="Find online ads linked to trafficking in human beings, continuously.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

COMMAND_MODULES = [
    "stack",
    "init",
    "profiles",
    "crawl",
    "worker",
    "scheduler",
    "watch",
    "alerts",
    "ad",
    "tor",
    "search",
    "entity",
    "network",
    "report",
    "demo",
    "kibana",
    "retention",
    "analyze",
    "replay",
    "evidence",
]


class State:
    config: Path | None = None
    _settings: Settings | None = None


state = State()


def settings() -> Settings:
    """The validated settings; invalid configuration ends the command with exit code 2."""
    if state._settings is None:
        try:
            state._settings = load_settings(state.config)
        except ConfigError as exc:
            err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
    return state._settings


@app.callback()
def root(
    config: Path | None = typer.Option(
        None, "--config", "-c", envvar="VIGIL_CONFIG", help="YAML configuration file (default ./vigil.yaml)"
    ),
) -> None:
    state.config = config
    state._settings = None


def _register() -> None:
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"vigil.app.commands.{name}")
        if hasattr(module, "register"):
            module.register(app)
        else:
            app.add_typer(module.app, name=name)


_register()


def main() -> None:
    # What Vigil writes (state directory, evidence, Kafka segments, inbox, logs) is for its own
    # account only; services run as other accounts are handed their folders explicitly.
    os.umask(0o077)
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
