"""``vigil ad``: one ad over time: its versions, when each was seen, its captures and the diffs."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vigil.app.cli import err, settings

app = typer.Typer(help="One ad over time: versions, captures and diffs.", no_args_is_help=True)
console = Console()


def _capture_lines(version) -> list[str]:
    lines = []
    for capture in version.captures:
        line = f"{capture.warc_file}@{capture.offset}+{capture.length} {capture.record_id}"
        if capture.screenshot:
            line += f"\n  screenshot {capture.screenshot}"
        elif capture.screenshot_deleted_at:
            line += f"\n  screenshot deleted {capture.screenshot_deleted_at.isoformat(timespec='seconds')}"
        lines.append(line)
    if version.captures_seen > len(version.captures):
        lines.append(f"({version.captures_seen - len(version.captures)} more not listed)")
    return lines or ["none (capture off)"]


@app.command("history")
def history(
    ad_key: str = typer.Argument(..., help="the ad's key, e.g. board:5001 (an alert's 'Ad:' line)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON for scripts"),
) -> None:
    """The versions of AD_KEY, oldest first: first and last seen, captures, and what changed."""
    from vigil.app.analyst.errors import describe
    from vigil.app.analyst.history import versions
    from vigil.app.audit import audited
    from vigil.core.elastic import client

    cfg = settings()
    alias = cfg.es.indices.ad_versions
    audited(cfg, "ad.history", ad_key=ad_key, export="json" if as_json else None)
    try:
        found = versions(client(cfg.es), alias, ad_key)
    except Exception as exc:  # noqa: BLE001 - every failure becomes one clear line
        err.print(f"[red]error:[/red] {describe(exc, alias)}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps({"ad_key": ad_key, "versions": [v.model_dump(mode="json") for v in found]},
                              ensure_ascii=False))  # fmt: skip
        return
    if not found:
        err.print(f"no versions of {ad_key} (not crawled yet, or crawled before versions were kept)")
        raise typer.Exit(1)
    table = Table(title=f"{ad_key}: {len(found)} version(s)", show_lines=True)
    for column in ("v", "first seen", "last seen", "seen", "content", "captures", "changes"):
        table.add_column(column)
    for version in found:
        changes = [c.describe() for c in version.changes]
        if version.text_diff:
            changes.append("text:\n" + version.text_diff)
        table.add_row(
            Text(f"{version.version}{' !' if version.escalate else ''}", style="bold red" if version.escalate else None),
            version.first_seen.isoformat(timespec="seconds") if version.first_seen else "?",
            version.last_seen.isoformat(timespec="seconds") if version.last_seen else "?",
            str(version.seen_count),
            Text.assemble((version.title or "(untitled)", ""), (f"\n{version.content_hash[:12]}", "dim")),
            Text("\n".join(_capture_lines(version))),
            Text("\n".join(changes) or ("first version" if version.version == 1 else "-")),
        )
    console.print(table)
