"""``vigil network ID|VALUE``: one network's ads, timeline, countries and the evidence of each link."""

from __future__ import annotations

import json

import typer
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from vigil.app.cli import settings

console = Console()
err = Console(stderr=True)


def register(root: typer.Typer) -> None:
    root.command("network")(network)


def network(
    wanted: str = typer.Argument(
        ..., help="a network id (net-...), an ad key, or a phone/e-mail/wallet/handle"
    ),
    entity_type: str | None = typer.Option(None, "--type", help="phone | email | wallet | handle | onion"),
    region: str | None = typer.Option(None, "--region", help="country for a national phone number, e.g. DE"),
    limit: int = typer.Option(50, "--limit", "-n", min=1, max=1000, help="ads to list"),
    as_json: bool = typer.Option(False, "--json", help="print JSON for scripts"),
) -> None:
    """Show the network an id, ad or entity value belongs to: members, timeline, countries, evidence."""
    from vigil.app.analyst.errors import describe
    from vigil.app.analyst.network_profile import NetworkNotFound, profile
    from vigil.core.elastic import client

    cfg = settings()
    try:
        found = profile(
            client(cfg.es), cfg.es.indices, wanted, entity_type=entity_type, region=region, max_ads=limit
        )
    except NetworkNotFound as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except Exception as exc:  # noqa: BLE001 - every failure becomes one clear line
        err.print(
            f"[red]error:[/red] {describe(exc, cfg.es.indices.networks)}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(found.as_json(), ensure_ascii=False))
        return
    facts = Table.grid(padding=(0, 2))
    facts.add_row("found by", Text(found.found_by))
    facts.add_row("ads", str(found.size))
    facts.add_row("sites", Text(", ".join(found.sites)))
    facts.add_row("countries", Text(", ".join(found.countries)))
    facts.add_row("shared", Text(", ".join(found.entities[:10]) or "-"))
    facts.add_row("first seen", (found.first_seen or "?")[:16])
    facts.add_row("last seen", (found.last_seen or "?")[:16])
    timeline = Table(title="size over time")
    timeline.add_column("when")
    timeline.add_column("ads", justify="right")
    for step in found.timeline:
        timeline.add_row((step.get("at") or "")[:16], str(step.get("size")))
    ads = Table(title=f"ads (first {len(found.ads)} of {found.size})", expand=True)
    for column in ("first seen", "title", "site", "cc"):
        ads.add_column(column)
    for ad in found.ads:
        ads.add_row(
            Text((ad.first_seen or "")[:16]),
            Text.assemble((ad.title or "(untitled)", ""), ("\n" + ad.ad_key, "dim")),
            Text(ad.site),
            Text(ad.country or ""),
        )
    links = Table(title="links and their evidence", expand=True)
    for column in ("ad", "ad", "evidence"):
        links.add_column(column)
    for link in found.links:
        links.add_row(Text(link["a"]), Text(link["b"]), Text(link["reason"]))
    console.print(
        Panel(facts, title=Text.assemble(("network ", "dim"), (found.network_id, "bold")), title_align="left")
    )
    console.print(Group(timeline, ads, links))
