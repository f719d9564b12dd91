"""``vigil crawl ID_OR_PATH``: crawl one site profile into Kafka, with live progress and a summary.

Exit codes: 0 crawl finished and every record was delivered; 1 records could not be published
(delivery failures, broker unreachable, topic missing) or the crawl failed; 2 the profile or the
configuration is invalid.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from vigil.app.cli import settings

console = Console()
err = Console(stderr=True)


def register(root: typer.Typer) -> None:
    root.command("crawl")(crawl)


def _progress_table(snapshot: dict) -> Table:
    table = Table.grid(padding=(0, 2))
    rate = snapshot["pages"] / snapshot["seconds"] if snapshot["seconds"] else 0.0
    errors = ", ".join(f"{k} {v}" for k, v in snapshot["errors"].items()) or "none"
    table.add_row("pages", str(snapshot["pages"]), "ads", str(snapshot["ads"]), "published", str(snapshot["published"]))
    table.add_row("elapsed", f"{snapshot['seconds']:.1f}s", "rate", f"{rate:.1f}/s", "errors", errors)
    return table


def _summary_table(summary) -> Table:
    table = Table(title=f"crawl of {summary.profile_id}", show_header=False)
    table.add_row("job id", summary.job_id)
    table.add_row("pages fetched", str(summary.pages))
    table.add_row("ads found", str(summary.ads))
    table.add_row("records published", str(summary.published))
    table.add_row("truncated bodies", str(summary.truncated))
    table.add_row("finish reason", summary.finish_reason or "-")
    table.add_row("seconds", f"{summary.seconds:.1f}")
    for cause, count in summary.errors.items():
        table.add_row(f"error: {cause}", str(count))
    for cause, count in summary.skipped.items():
        table.add_row(f"skipped: {cause}", str(count))
    return table


def crawl(
    profile_ref: str = typer.Argument(..., metavar="ID_OR_PATH", help="profile id (in profiles_dir) or YAML file"),
    max_pages: int | None = typer.Option(None, "--max-pages", min=1, help="override the profile's limits.max_pages"),
    job_id: str | None = typer.Option(None, "--job-id", help="crawl job id stamped on every record"),
    reason: str = typer.Option("manual", "--reason", help="why this crawl runs (manual, schedule, ...)"),
    as_json: bool = typer.Option(False, "--json", help="no live display; one JSON summary line on stdout"),
    incremental: bool = typer.Option(False, "--incremental", help="stop paging at listings holding only known ads"),
    known_ads: Path | None = typer.Option(None, "--known-ads", help="file of known ad ids (one a line)"),
    baseline: bool = typer.Option(False, "--baseline", help="mark records as a baseline crawl (no new-ad alerts)"),
    publish: bool = typer.Option(True, "--publish/--no-publish", help="--no-publish: fetch and extract only"),
) -> None:
    """Crawl one site profile and publish its pages to Kafka."""
    from crawlers.routing import RoutingError
    from crawlers.runner import load_profile_for_crawl, run_crawl
    from vigil.core.profiles import ProfileError
    from vigil.core.records import new_id

    cfg = settings()
    try:
        profile = load_profile_for_crawl(profile_ref, cfg)
        if known_ads is not None and not known_ads.is_file():
            raise ProfileError(known_ads, "--known-ads", "no such file")
    except (ProfileError, RoutingError) as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None

    job = job_id or new_id()
    options = dict(
        job_id=job,
        reason=reason,
        max_pages=max_pages,
        incremental=incremental,
        known_ads=known_ads,
        baseline=baseline,
        publish=publish,
    )
    if as_json:
        summary = run_crawl(profile, cfg, **options)
        sys.stdout.write(summary.model_dump_json() + "\n")
        sys.stdout.flush()
    else:
        overrides = {"LOG_LEVEL": "WARNING"}
        with Live(console=err, refresh_per_second=4, transient=True) as live:
            summary = run_crawl(profile, cfg, overrides=overrides, on_progress=lambda s: live.update(_progress_table(s)), **options)
        console.print(_summary_table(summary))
    if not summary.ok:
        err.print(f"[red]error:[/red] crawl of {profile.id} failed: {summary.message or summary.finish_reason}",
                  highlight=False, soft_wrap=True)
        raise typer.Exit(1)
