"""``vigil entity``: everything known about one phone, e-mail, wallet, handle, onion or photo (image)."""

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
    root.command("entity")(entity)


def entity(
    value: str = typer.Argument(
        ..., help="a phone, e-mail, wallet, handle (platform:name, t.me/...) or onion"
    ),
    entity_type: str | None = typer.Option(None, "--type", help="phone | email | wallet | handle | onion | image"),
    region: str | None = typer.Option(None, "--region", help="country for a national phone number, e.g. US"),
    limit: int = typer.Option(25, "--limit", "-n", min=1, max=1000, help="ads to list"),
    as_json: bool = typer.Option(False, "--json", help="print JSON for scripts"),
) -> None:
    """Normalise VALUE as enrichment does, then show its ads, sites, countries and its network two hops out."""
    from vigil.app.analyst.entity_profile import profile
    from vigil.app.analyst.errors import describe
    from vigil.app.analyst.identify import IdentifyError, identify
    from vigil.app.audit import audited
    from vigil.core.elastic import client

    cfg = settings()
    alias = cfg.es.indices.ads
    try:
        kind, normalised = identify(value, entity_type, region)
    except IdentifyError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    audited(cfg, "entity", type=kind, value=normalised, limit=limit, export="json" if as_json else None)
    try:
        found = profile(client(cfg.es), alias, kind, normalised, max_ads=limit)
    except Exception as exc:  # noqa: BLE001 - every failure becomes one clear line
        err.print(f"[red]error:[/red] {describe(exc, alias)}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None

    if as_json:
        typer.echo(json.dumps(found.as_json(), ensure_ascii=False))
        return
    heading = Text.assemble((f"{kind} ", "dim"), (normalised, "bold"))
    if not found.total_ads:
        console.print(heading)
        console.print("not seen in any ad")
        return
    facts = Table.grid(padding=(0, 2))
    facts.add_row("ads", str(found.total_ads))
    facts.add_row("sites", Text(", ".join(f"{k} ({v})" for k, v in found.sites.items())))
    facts.add_row("countries", Text(", ".join(f"{k} ({v})" for k, v in found.countries.items())))
    facts.add_row("first seen", found.first_seen or "?")
    facts.add_row("last seen", found.last_seen or "?")
    ads = Table(title=f"ads (newest {len(found.ads)} of {found.total_ads})", expand=True)
    for column in ("risk", "title", "site", "cc", "last seen"):
        ads.add_column(column, justify="right" if column == "risk" else "left")
    for ad in found.ads:
        ads.add_row(
            Text(f"{ad.risk}{' !' if ad.escalate else ''}", style="bold red" if ad.escalate else None),
            Text.assemble((ad.title or "(untitled)", ""), ("\n" + ad.url, "dim")),
            Text(ad.site),
            Text(ad.country or ""),
            Text((ad.last_seen or "")[:16]),
        )
    links = Table(title="co-occurring entities", expand=True)
    for column in ("hop", "type", "value", "ads", "via"):
        links.add_column(column)
    for n in found.neighbours:
        links.add_row(str(n.hop), n.type, Text(n.value), str(n.ads), Text(", ".join(n.via[:3])))
    if not found.neighbours:
        links.add_row("", "", "none", "", "")
    console.print(Panel(facts, title=heading, title_align="left"))
    console.print(Group(ads, links))
