"""``vigil stack``: fetch, start, stop and inspect the local Kafka + Elasticsearch (+ tor) stack."""

from __future__ import annotations

import json
import os
import time
from enum import StrEnum

import typer
from rich.console import Console
from rich.table import Table

from vigil.app.cli import settings

app = typer.Typer(
    help="The local single-node stack: Kafka (KRaft), Elasticsearch and, on request, tor.",
    no_args_is_help=True,
)
console = Console()
err = Console(stderr=True)


class Extra(StrEnum):
    tor = "tor"
    postgres = "postgres"
    s3 = "s3"


class Service(StrEnum):
    kafka = "kafka"
    elasticsearch = "elasticsearch"
    tor = "tor"
    postgres = "postgres"
    s3 = "s3"


def _fail(message: str) -> typer.Exit:
    from rich.markup import escape

    # The message may quote a log tail, whose "[/path]" rich would read as a closing tag.
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True, markup=True)
    return typer.Exit(1)


def _report(service: str, message: str) -> None:
    console.print(f"[bold]{service:<16}[/bold] {message}", highlight=False)


NODES_HELP = "a local N-node cluster on its own ports and folders (see docs/operations.md)"


def _settings(nodes: int):
    """The configured settings, or those of the local ``nodes``-node cluster."""
    cfg = settings()
    if nodes == 1:
        return cfg
    from vigil.app.stack.cluster import cluster_settings

    return cluster_settings(cfg, nodes)


@app.command()
def fetch(
    with_: list[Extra] = typer.Option([], "--with", help="also build the S3 server (s3; tor and postgres are Debian's)"),
) -> None:
    """Download Kafka's jars and the Elasticsearch zip from Maven Central (cached; quick when done)."""
    from vigil.app.stack import StackError
    from vigil.app.stack import fetch as do_fetch

    cfg = settings()
    try:
        result = do_fetch(cfg, report=_report, with_s3=Extra.s3 in with_)
    except StackError as exc:
        raise _fail(str(exc)) from None
    from vigil.app.stack.s3 import SEAWEEDFS_VERSION

    for name, outcome in result.items():
        version = SEAWEEDFS_VERSION if name == "s3" else getattr(cfg.stack, name + "_version", "")
        _report(name, f"{outcome} ({version})" if outcome != "external" else outcome)


@app.command()
def up(
    with_: list[Extra] = typer.Option([], "--with", help="also start an optional service (tor, postgres, s3)"),
    nodes: int = typer.Option(1, "--nodes", min=1, max=5, help=NODES_HELP),
) -> None:
    """Start Kafka and Elasticsearch (and tor, postgres or s3 with --with) unless already healthy; wait until ready."""
    from vigil.app.stack import StackError, ensure_up

    if with_ and nodes > 1:
        raise _fail("--with starts services beside the single-node stack; use it without --nodes")
    cfg = _settings(nodes)
    started = time.monotonic()
    try:
        with console.status("starting the local stack...", spinner="dots"):
            result = ensure_up(
                cfg,
                with_tor=Extra.tor in with_,
                with_postgres=Extra.postgres in with_,
                with_s3=Extra.s3 in with_,
                report=_report,
            )
    except StackError as exc:
        raise _fail(str(exc)) from None
    summary = ", ".join(f"{name} {outcome}" for name, outcome in result.items())
    console.print(
        f"[green]stack up[/green] ({summary}) in {time.monotonic() - started:.1f}s", highlight=False
    )
    if nodes > 1:
        from vigil.app.stack.cluster import write_client_config

        path = write_client_config(cfg)
        console.print(f"clients of this cluster: VIGIL_CONFIG={path}", highlight=False, soft_wrap=True)


@app.command()
def down(nodes: int = typer.Option(1, "--nodes", min=1, max=5, help=NODES_HELP)) -> None:
    """Stop the processes `vigil stack up` started (by their recorded PIDs). Data is kept."""
    from vigil.app.stack import StackError
    from vigil.app.stack import down as do_down

    cfg = _settings(nodes)
    try:
        result = do_down(cfg, report=_report)
    except StackError as exc:
        raise _fail(str(exc)) from None
    for name, outcome in result.items():
        _report(name, outcome)


@app.command()
def status(
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
    nodes: int = typer.Option(1, "--nodes", min=1, max=5, help=NODES_HELP),
) -> None:
    """Version, address, health, PID and log of each service. Exit 1 if Kafka or ES is unhealthy."""
    from vigil.app.stack import status as do_status

    cfg = _settings(nodes)
    report = do_status(cfg)
    if as_json:
        print(json.dumps(report, indent=2, default=str))
    else:
        table = Table(title=f"Vigil stack ({cfg.state_dir})")
        for column in ("service", "version", "address", "healthy", "pid", "log"):
            table.add_column(column, overflow="fold")
        for name, info in report.items():
            healthy = "[green]yes[/green]" if info["healthy"] else "[red]no[/red]"
            if name == "tor" and info.get("bootstrap") is not None:
                healthy += f" (bootstrap {info['bootstrap']}%)"
            table.add_row(
                name,
                str(info["version"] or "-"),
                info["address"],
                healthy,
                str(info["pid"] or "-"),
                info["log"] or "-",
            )
        console.print(table)
    if not all(info["healthy"] for name, info in report.items() if name.startswith(("kafka", "elasticsearch"))):
        raise typer.Exit(1)


@app.command()
def logs(
    service: Service = typer.Argument(..., help="kafka, elasticsearch, tor, postgres or s3"),
    lines: int = typer.Option(50, "-n", "--lines", help="how many last lines"),
    follow: bool = typer.Option(False, "-f", "--follow", help="keep printing new lines"),
    node: int = typer.Option(0, "--node", min=0, max=5, help="node N of the local cluster (`up --nodes`)"),
) -> None:
    """Print the last lines of a service's log (<state>/logs/SERVICE.log)."""
    from vigil.app.stack import paths, processes

    # Any cluster size names the same logs folder; node N's log is SERVICE-N.log there.
    cfg = _settings(2 if node else 1)
    name = f"{service.value}-{node}" if node else service.value
    path = paths.log_file(cfg, name)
    if not path.exists():
        raise _fail(f"{name} has no log yet ({path}); has `vigil stack up` started it?")
    text = processes.tail(path, lines)
    if text:
        print(text, flush=True)
    if not follow:
        return
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            while True:
                chunk = fh.readline()
                if chunk:
                    print(chunk.decode("utf-8", "replace"), end="", flush=True)
                else:
                    time.sleep(0.3)
    except KeyboardInterrupt:
        pass


class Identity(StrEnum):
    admin = "admin"
    writer = "writer"
    analyst = "analyst"


@app.command("env")
def env(role: Identity = typer.Option(Identity.admin, "--role", help="admin | writer | analyst")) -> None:
    """Export lines with the local Elasticsearch's generated credentials: eval "$(vigil stack env)"."""
    from vigil.app.stack.es_security import env_lines

    lines = env_lines(settings(), role.value)
    if not lines:
        raise _fail("no generated credentials in this state directory (stack.es_security off, or not up yet)")
    for line in lines:
        print(line)
