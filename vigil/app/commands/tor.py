"""``vigil tor``: health of the configured tor instances, NEWNYM, and the private test network."""

from __future__ import annotations

import json
import shlex

import typer
from rich.console import Console

from vigil.app.cli import settings

console = Console()
err = Console(stderr=True)

app = typer.Typer(help="Tor instances used by crawls over Tor, and a private Tor network for tests.")
testnet_app = typer.Typer(help="A private Tor network on 127.0.0.1 (tests and demos; never the real Tor).")
app.add_typer(testnet_app, name="testnet")


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@app.command("status")
def status(as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Per instance: SOCKS reachable, control port, tor version, bootstrap %, built circuits."""
    from vigil.core.tor.control import health

    results = [health(instance) for instance in settings().tor.instances]
    if as_json:
        print(json.dumps([r.as_dict() for r in results], indent=2))
    else:
        for r in results:
            mark = "[green]ok[/green]" if r.healthy else "[red]down[/red]"
            console.print(
                f"{mark}  socks {r.socks} ({'reachable' if r.socks_reachable else 'unreachable'})  "
                f"control {r.control}  tor {r.version or '?'}  bootstrap {r.bootstrap}%  "
                f"circuits {r.circuits_built}" + (f"  [red]{r.error}[/red]" if r.error else ""),
                highlight=False,
                soft_wrap=True,
            )
    if not all(r.healthy for r in results):
        raise typer.Exit(1)


@app.command("newnym")
def newnym(
    profile: str | None = typer.Option(None, "--profile", help="only the tor instance this profile uses"),
) -> None:
    """Ask tor for new circuits (NEWNYM), waiting out tor's rate limit."""
    from vigil.core.tor.control import TorControlError, attach, instance_name, send_newnym
    from vigil.core.tor.isolation import instance_for

    cfg = settings()
    instances = [instance_for(cfg.tor, profile)] if profile else cfg.tor.instances
    failed = False
    for instance in instances:
        try:
            with attach(instance) as controller:
                waited = send_newnym(controller, profile=profile or "")
        except TorControlError as exc:
            err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
            failed = True
            continue
        note = f" (waited {waited:.1f}s for tor's rate limit)" if waited else ""
        console.print(f"NEWNYM sent to {instance_name(instance)}{note}", highlight=False)
    if failed:
        raise typer.Exit(1)


def _network():
    from vigil.app.testnet import TestNetwork

    return TestNetwork(settings().state_dir / "testnet")


@testnet_app.command("up")
def testnet_up(
    onion_for: list[str] = typer.Option(
        [], "--onion-for", help="HOST:PORT to publish as an onion service (repeatable)"
    ),
    print_env: bool = typer.Option(
        False, "--print-env", help="print only `export VIGIL_…` lines, for eval \"$(…)\""
    ),
    timeout: float = typer.Option(120.0, "--timeout", help="seconds to wait for the onions to answer"),
) -> None:
    """Start the private network and wait until every onion answers through the client."""
    from vigil.app.testnet import TestnetError

    try:
        state = _network().up(onion_for, timeout=timeout, progress=lambda m: err.print(m, highlight=False, soft_wrap=True))
    except TestnetError as exc:
        raise _fail(str(exc)) from None
    exports = [f"export {k}={shlex.quote(v)}" for k, v in state.env().items()]
    if print_env:
        print("\n".join(exports))
        return
    for target, onion in state.onions.items():
        console.print(f"onion  {onion}  ->  {target}", highlight=False)
    console.print(f"socks  127.0.0.1:{state.client.socks_port}", highlight=False)
    console.print(f"control 127.0.0.1:{state.client.control_port} (cookie {state.cookie_path})", highlight=False)
    console.print("point Vigil at it with:", highlight=False)
    for line in exports:
        console.print(f"  {line}", highlight=False, soft_wrap=True)


@testnet_app.command("down")
def testnet_down() -> None:
    """Stop every tor process of the private network."""
    stopped = _network().down()
    console.print(f"stopped {len(stopped)} tor process(es)" if stopped else "testnet not running")


@testnet_app.command("status")
def testnet_status(as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Which testnet nodes run, the onions and the client's addresses; exit 1 when not running."""
    info = _network().status()
    if as_json:
        print(json.dumps(info, indent=2))
    else:
        console.print(f"testnet {'running' if info['running'] else 'not running'} ({info['root']})")
        for nick, pid in info["nodes"].items():
            console.print(f"  {nick:<12} {'pid ' + str(pid) if pid else 'stopped'}")
        for target, onion in info.get("onions", {}).items():
            console.print(f"  onion {onion} -> {target}", highlight=False, soft_wrap=True)
        if "socks" in info:
            console.print(f"  socks {info['socks']}  control {info['control']}", highlight=False)
    if not info["running"]:
        raise typer.Exit(1)
