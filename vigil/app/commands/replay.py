"""``vigil replay``: republish raw pages from the evidence store's WARC files into the raw-pages
topic, so enrichment can be redone after Kafka's retention has passed (docs/operations.md)."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console

from vigil.app.cli import settings

console = Console()
err = Console(stderr=True)
DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M:%S"]


def register(root: typer.Typer) -> None:
    root.command("replay")(replay)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def replay(
    since: datetime | None = typer.Option(None, "--since", formats=DATE_FORMATS, help="pages fetched from (UTC)"),
    until: datetime | None = typer.Option(None, "--until", formats=DATE_FORMATS, help="... and before (UTC)"),
    warc: list[str] = typer.Option(
        [], "--warc", help="only these WARC files: store names (warc/YYYY/MM/DD/...) or local paths (repeatable)"
    ),
    profile: list[str] = typer.Option([], "--profile", help="only pages of these profiles (repeatable)"),
) -> None:
    """Republish the raw pages captured in the evidence store into the raw-pages topic."""
    from kafka.errors import KafkaError

    from crawlers.publishing import RECORD_HEADROOM, RecordTooLarge, fit
    from crawlers.replay import pages, warc_files
    from vigil.core.evidence import EvidenceError, open_store
    from vigil.core.kafka import producer

    if since is None and not warc:
        err.print("[red]error:[/red] give --since DATE or --warc NAME")
        raise typer.Exit(2)
    cfg = settings()
    start, end = _utc(since), _utc(until)
    store = open_store(cfg)
    try:
        names = list(warc) or warc_files(store, start, end)
    except EvidenceError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    topic = cfg.kafka.topics.pages_raw
    limit = cfg.kafka.max_message_bytes - RECORD_HEADROOM
    counts = {"files": 0, "published": 0, "outside": 0, "errors": 0, "failed": 0}
    problems: list[str] = []

    def problem(message: str) -> None:
        counts["errors"] += 1
        if len(problems) < 20:
            problems.append(message)

    def failed(_exc) -> None:
        counts["failed"] += 1

    try:
        kafka = producer(cfg.kafka, max_block_ms=15000)
    except KafkaError as exc:
        err.print(f"[red]error:[/red] Kafka at {cfg.kafka.bootstrap} is unreachable: {exc}")
        raise typer.Exit(1) from None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with tempfile.TemporaryDirectory(prefix="vigil-replay-") as scratch, Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[pages]} pages"),
        console=err,
    ) as bar:  # fmt: skip
        task = bar.add_task("WARC files", total=len(names), pages=0)
        for name in names:
            local = Path(name)
            if not local.is_file():
                local = Path(scratch) / Path(name).name
                try:
                    store.download(name, local)
                except EvidenceError as exc:
                    problem(str(exc))
                    bar.advance(task)
                    continue
            for page in pages(store, local, cfg.crawl.max_body_bytes, problem):
                fetched = _utc(page.fetched_at)
                if (start and fetched < start) or (end and fetched >= end) or (profile and page.profile_id not in profile):
                    counts["outside"] += 1
                    continue
                try:
                    value = fit(page, limit)
                except RecordTooLarge as exc:
                    problem(f"{page.url}: {exc}")
                    continue
                kafka.send(topic, key=page.canonical_url.encode("utf-8"), value=value).add_errback(failed)
                counts["published"] += 1
                bar.update(task, pages=counts["published"])
            if local.parent == Path(scratch):
                local.unlink(missing_ok=True)
            counts["files"] += 1
            bar.advance(task)
    kafka.flush(timeout=60)
    kafka.close(timeout=5)
    counts["published"] -= counts["failed"]
    for message in problems:
        err.print(f"[yellow]skipped:[/yellow] {message}", highlight=False, soft_wrap=True)
    console.print(
        f"replayed {counts['published']} pages from {counts['files']} WARC files of {store.uri} into {topic}"
        f" ({counts['outside']} outside the range or profiles, {counts['errors']} could not be rebuilt,"
        f" {counts['failed']} not delivered)",
        highlight=False,
        soft_wrap=True,
    )
    if counts["failed"] or counts["errors"]:
        raise typer.Exit(1)
