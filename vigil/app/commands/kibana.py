"""``vigil kibana``: Kibana data views, saved searches and the dashboard, as NDJSON or imported."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from vigil.app.cli import settings

app = typer.Typer(
    help="Kibana saved objects: export them, or import them into a Kibana.", no_args_is_help=True
)
console = Console()
err = Console(stderr=True)


@app.command("export")
def export(
    out: Path = typer.Option(Path("deploy/kibana/vigil.ndjson"), "--out", "-o", help="NDJSON file to write"),
) -> None:
    """Write the saved objects for the configured aliases (deploy/kibana/vigil.ndjson uses the defaults)."""
    from vigil.app.analyst.kibana_objects import build, to_ndjson

    objects = build(settings().es.indices)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(to_ndjson(objects), encoding="utf-8")
    console.print(f"wrote {len(objects)} saved objects to {out}", highlight=False)


@app.command("import")
def import_(
    url: str = typer.Option(..., "--url", help="Kibana base URL, e.g. http://localhost:5601"),
    space: str | None = typer.Option(None, "--space", help="Kibana space id (default space if omitted)"),
    file: Path | None = typer.Option(
        None, "--file", help="NDJSON to import (default: built for the configured aliases)"
    ),
) -> None:
    """Import (overwriting) the saved objects through Kibana's API; auth from VIGIL_KIBANA_API_KEY or _USERNAME/_PASSWORD."""
    from vigil.app.analyst.kibana_import import KibanaError, import_objects
    from vigil.app.analyst.kibana_objects import build, read_ndjson, to_ndjson

    try:
        objects = read_ndjson(file) if file else build(settings().es.indices)
        result = import_objects(url, to_ndjson(objects), space)
    except (KibanaError, ValueError, OSError) as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    if not result.success:
        for problem in result.errors:
            err.print(
                f"[red]error:[/red] {problem.get('type')} {problem.get('id')}: {problem.get('error', {}).get('type')}",
                highlight=False,
            )
        raise typer.Exit(1)
    console.print(
        f"imported {result.count} saved objects into {url} (space {space or 'default'})", highlight=False
    )
