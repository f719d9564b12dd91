"""``vigil watch``: add, list, pause, resume and remove the watches the scheduler runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from vigil.app.cli import err, settings

app = typer.Typer(help="Watched sites: which profiles are re-crawled, and when.", no_args_is_help=True)
console = Console()


def _store():
    from scheduler.service import open_watches

    return open_watches(settings())


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


@app.command("add")
def add(
    profile: str = typer.Argument(..., help="profile id (in profiles_dir) or path to a profile file"),
    every: str | None = typer.Option(None, "--every", help="interval: 30s, 15m, 2h, 1d"),
    cron: str | None = typer.Option(None, "--cron", help='5-field crontab, UTC: "0 */2 * * *"'),
    incremental: bool | None = typer.Option(
        None, "--incremental/--full", help="re-crawls stop at known ads (default: scheduler.incremental)"
    ),
    baseline: bool | None = typer.Option(
        None, "--baseline/--no-baseline", help="first crawl raises no new-ad alerts (default: configured)"
    ),
    max_pages: int | None = typer.Option(None, "--max-pages", min=1),
    paused: bool = typer.Option(False, "--paused", help="add without running it yet"),
) -> None:
    """Watch a profile; replaces the schedule of an existing watch and keeps its history."""
    from scheduler.watches import Watch, WatchError
    from vigil.core.profiles import ProfileError, find_profile, parse_duration

    cfg = settings()
    if (every is None) == (cron is None):
        raise _fail("give exactly one of --every, --cron")
    try:
        found = find_profile(profile, cfg.profiles_dir)
    except ProfileError as exc:
        raise _fail(str(exc)) from None
    path = found.file.resolve() if found.file else None
    root = Path(cfg.profiles_dir).resolve()
    if path is None or not path.is_relative_to(root):
        raise _fail(
            f"{path or profile}: only profiles inside the profiles directory {root} can be watched "
            "(crawl workers refuse jobs naming files elsewhere); copy the profile there"
        )
    in_dir = path.parent == root
    try:
        seconds = parse_duration(every).total_seconds() if every else None
        watch = Watch(
            watch_id=found.id,
            profile_id=found.id,
            source="cli",
            every_seconds=seconds,
            cron=cron,
            profile_path=None if in_dir else str(path),
            incremental=cfg.scheduler.incremental if incremental is None else incremental,
            baseline=cfg.scheduler.baseline_first_run if baseline is None else baseline,
            max_pages=max_pages,
            paused=paused,
        )
        stored = _store().add(watch)
    except (ValueError, WatchError) as exc:
        raise _fail(str(exc)) from None
    console.print(f"watching {stored.watch_id}: {stored.schedule}" + (" (paused)" if stored.paused else ""))


def _when(timestamp: float | None) -> str:
    if not timestamp:
        return "-"
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="one JSON object per line")) -> None:
    """Every watch, its schedule, state and last run."""
    watches = _store().all()
    if as_json:
        for w in watches:
            print(
                json.dumps(
                    {
                        "watch_id": w.watch_id,
                        "profile_id": w.profile_id,
                        "source": w.source,
                        "schedule": w.schedule,
                        "incremental": w.incremental,
                        "baseline": w.baseline,
                        "paused": w.paused,
                        "runs": w.runs,
                        "last_run_at": _when(w.last_run_at),
                        "last_job_id": w.last_job_id,
                    }
                )
            )
        return
    table = Table("watch", "schedule", "source", "state", "runs", "last run", "last job")
    for w in watches:
        table.add_row(
            w.watch_id,
            w.schedule,
            w.source,
            "paused" if w.paused else "active",
            str(w.runs),
            _when(w.last_run_at),
            w.last_job_id or "-",
        )
    console.print(table)


def _set_paused(watch_id: str, paused: bool) -> None:
    if not _store().set_paused(watch_id, paused):
        raise _fail(f"no watch {watch_id!r}")
    console.print(f"{watch_id} {'paused' if paused else 'resumed'}")


@app.command("pause")
def pause(watch_id: str) -> None:
    """Stop running a watch (kept, with its history)."""
    _set_paused(watch_id, True)


@app.command("resume")
def resume(watch_id: str) -> None:
    """Run a paused watch again."""
    _set_paused(watch_id, False)


@app.command("remove")
def remove(watch_id: str) -> None:
    """Forget a watch (a profile's own ``watch`` key adds it back; remove that key instead)."""
    if not _store().remove(watch_id):
        raise _fail(f"no watch {watch_id!r}")
    console.print(f"{watch_id} removed")
