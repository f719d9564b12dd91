"""``vigil profiles``: validate and list site profiles (docs/profiles.md)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from vigil.app.cli import settings

app = typer.Typer(name="profiles", help="Validate and list site profiles.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


@app.command("validate")
def validate(
    paths: list[Path] = typer.Argument(None, help="profile files or directories (default: profiles_dir)"),
) -> None:
    """Validate profiles; every error names the file, the key and the reason. Exit 1 on any error."""
    from vigil.core.profiles import ProfileError, load_profile, load_profiles

    targets = paths or [settings().profiles_dir]
    errors: list[ProfileError] = []
    good = 0
    for target in targets:
        if target.is_dir():
            profiles, found = load_profiles(target)
            good += len(profiles)
            errors.extend(found)
            for profile in profiles:
                console.print(f"ok     {profile.file}  ({profile.id})", highlight=False)
            continue
        try:
            profile = load_profile(target)
        except ProfileError as exc:
            errors.append(exc)
            continue
        good += 1
        console.print(f"ok     {target}  ({profile.id})", highlight=False)
    for exc in errors:
        err.print(f"[red]error[/red]  {exc}", highlight=False, soft_wrap=True)
    if not good and not errors:
        err.print("[red]error:[/red] no profiles found", highlight=False)
        raise typer.Exit(1)
    if errors:
        raise typer.Exit(1)


@app.command("list")
def list_profiles(as_json: bool = typer.Option(False, "--json", help="one JSON object per profile")) -> None:
    """List the profiles in profiles_dir (invalid ones are reported on stderr)."""
    from vigil.core.profiles import load_profiles

    cfg = settings()
    profiles, errors = load_profiles(cfg.profiles_dir)
    if as_json:
        for p in profiles:
            watch = p.watch.every or p.watch.cron if p.watch else None
            row = {"id": p.id, "network": p.network, "render_js": p.render_js, "country": p.country,
                   "language": p.language, "start_urls": p.start_urls, "watch": watch, "enabled": p.enabled,
                   "path": str(p.file)}
            print(json.dumps(row))
    else:
        table = Table("id", "network", "js", "country", "lang", "watch", "start", "file")
        for p in profiles:
            watch = (p.watch.every or p.watch.cron) if p.watch else "-"
            table.add_row(p.id, p.network, "yes" if p.render_js else "no", p.country or "-", p.language or "-",
                          watch, (p.start_urls or p.sitemap_urls)[0], str(p.file))
        console.print(table)
    for exc in errors:
        err.print(f"[red]error[/red]  {exc}", highlight=False, soft_wrap=True)
    if errors:
        raise typer.Exit(1)


@app.command("test")
def test_profile(
    profile_ref: str = typer.Argument(..., metavar="PROFILE", help="profile id (in profiles_dir) or YAML file"),
    url: str | None = typer.Option(None, "--url", help="the page to try (default: the first start URL)"),
    as_json: bool = typer.Option(False, "--json", help="one JSON object on stdout"),
) -> None:
    """Fetch one page with a profile and show what it extracts; nothing is published.

    Exit 0 when the page was read, 1 when it produced no record (refused, not found, wrong type),
    2 when the profile is invalid.
    """
    from crawlers.workbench import try_profile
    from vigil.core.profiles import ProfileError, find_profile

    cfg = settings()
    try:
        profile = find_profile(profile_ref, cfg.profiles_dir)
        report = try_profile(profile, cfg, url)
    except ProfileError as exc:
        err.print(f"[red]error[/red]  {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    if as_json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        _show(report)
    if not report["ok"]:
        raise typer.Exit(1)


def _show(report: dict) -> None:
    console.print(f"[bold]{report['profile_id']}[/bold] ({report['source']})  {report['url']}", highlight=False)
    for page in report["pages"]:
        ad_id = f"  ad id {page['ad_id']}" if page["ad_id"] else ""
        console.print(f"page: {page['page_type']}{ad_id}  HTTP {page['status']}  {page['content_type']}  "
                      f"{page['body_bytes']} bytes", highlight=False)
        for name, value in page["fields"].items():
            console.print(f"  {name}: {value[:200]}", highlight=False)
    if report["item_count"]:
        table = Table("ad id", "url", "fields", title=f"{report['item_count']} items")
        for item in report["items"]:
            fields = "\n".join(f"{k}: {v[:120]}" for k, v in item["fields"].items())
            table.add_row(item["ad_id"] or "-", item["url"], fields or "-")
        console.print(table)
    for title, key in (("ad links", "ad_links"), ("next pages", "next"), ("item details fetched", "details")):
        if report[key]:
            console.print(f"{title} ({len(report[key])}):", highlight=False)
            for link in report[key]:
                console.print(f"  {link}", highlight=False)
    for refusal in report["refused"]:
        console.print(f"[red]refused[/red] {refusal['cause']}: {refusal['url']}  ({refusal['detail'][:200]})",
                      highlight=False)
    for cause, count in {**report["errors"], **report["skipped"]}.items():
        console.print(f"{cause}: {count}", highlight=False)
    if report["message"]:
        console.print(report["message"], highlight=False)
    if not report["ok"]:
        err.print("[red]no page was read[/red]", highlight=False)
