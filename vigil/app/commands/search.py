"""``vigil search``: full-text search of the indexed ads with filters, as a table or JSON."""

from __future__ import annotations

import html
import json
import re

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vigil.app.cli import settings

console = Console()
err = Console(stderr=True)


def register(root: typer.Typer) -> None:
    root.command("search")(search)


def _highlighted(fragment: str, style: str | None = None) -> Text:
    """Rich text from a fragment with private marks; the ad's own text is never parsed as markup."""
    from vigil.app.analyst.query import MARK_END, MARK_START

    text = Text()
    for i, part in enumerate(fragment.replace(MARK_END, MARK_START).split(MARK_START)):
        # ES escaped the fragment for HTML (encoder html); a terminal shows the text as written.
        text.append(re.sub(r"\s+", " ", html.unescape(part)), style="bold black on yellow" if i % 2 else style)
    return text


def search(
    query: str = typer.Argument(
        ..., help='words, "phrases", -exclusions, a|b, prefix*; or a phone/e-mail/wallet'
    ),
    country: str | None = typer.Option(None, "--country", help="two-letter country code"),
    min_risk: int | None = typer.Option(None, "--min-risk", min=0, max=100, help="only ads with risk >= N"),
    indicator: list[str] = typer.Option(
        [], "--indicator", help="indicator id the ad must carry (repeatable)"
    ),
    since: str | None = typer.Option(
        None, "--since", help="seen on or after: YYYY-MM-DD, ISO time, or 7d / 12h"
    ),
    limit: int = typer.Option(20, "--limit", "-n", min=1, max=1000),
    as_json: bool = typer.Option(False, "--json", help="print JSON for scripts"),
    region: str | None = typer.Option(None, "--region", help="country for national phone numbers in QUERY"),
) -> None:
    """Search ads. Query syntax never fails: unbalanced quotes or brackets are read as plain words."""
    from vigil.app.analyst.errors import describe
    from vigil.app.analyst.identify import try_identify
    from vigil.app.analyst.query import QueryError, SearchRequest
    from vigil.app.analyst.query import search as run_search
    from vigil.app.audit import audited
    from vigil.core.elastic import client

    cfg = settings()
    alias = cfg.es.indices.ads
    request = SearchRequest(
        text=query,
        country=country,
        min_risk=min_risk,
        indicators=tuple(indicator),
        since=since,
        limit=limit,
        entity=try_identify(query, region=region),
    )
    try:
        request.body()
    except QueryError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    audited(cfg, "search", query=query, country=country, min_risk=min_risk, indicator=list(indicator),
            since=since, limit=limit, export="json" if as_json else None)  # fmt: skip
    try:
        result = run_search(client(cfg.es), alias, request)
    except Exception as exc:  # noqa: BLE001 - every failure becomes one clear line
        err.print(f"[red]error:[/red] {describe(exc, alias)}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None

    if as_json:
        typer.echo(
            json.dumps(
                {"total": result.total, "hits": [h.as_json() for h in result.hits]}, ensure_ascii=False
            )
        )
        return
    if not result.hits:
        console.print(f"no ads match {query!r}", highlight=False)
        return
    table = Table(title=f"{result.total} ads match — showing {len(result.hits)}", show_lines=True)
    table.add_column("risk", justify="right")
    table.add_column("ad", ratio=3)
    table.add_column("site")
    table.add_column("cc")
    table.add_column("indicators")
    table.add_column("last seen")
    for hit in result.hits:
        body = Text()
        title = hit.highlights.get("title", [hit.title])[0] or "(untitled)"
        body.append_text(_highlighted(title, "bold"))
        for fragment in hit.highlights.get("text", []):
            body.append("\n")
            body.append_text(_highlighted(fragment))
        body.append(f"\n{hit.url}", style="dim")
        risk_style = (
            "bold red" if hit.escalate or hit.risk >= 70 else ("yellow" if hit.risk >= 40 else "green")
        )
        table.add_row(
            Text(f"{hit.risk}{' !' if hit.escalate else ''}", style=risk_style),
            body,
            Text(hit.site),
            Text(hit.country or ""),
            Text(", ".join(hit.indicators)),
            Text((hit.last_seen or "")[:16]),
        )
    console.print(table)
