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
                console.print(f"ok     {profile.source}  ({profile.id})", highlight=False)
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
                   "path": str(p.source)}
            print(json.dumps(row))
    else:
        table = Table("id", "network", "js", "country", "lang", "watch", "start", "file")
        for p in profiles:
            watch = (p.watch.every or p.watch.cron) if p.watch else "-"
            table.add_row(p.id, p.network, "yes" if p.render_js else "no", p.country or "-", p.language or "-",
                          watch, (p.start_urls or p.sitemap_urls)[0], str(p.source))
        console.print(table)
    for exc in errors:
        err.print(f"[red]error[/red]  {exc}", highlight=False, soft_wrap=True)
    if errors:
        raise typer.Exit(1)
