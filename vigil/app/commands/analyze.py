"""``vigil analyze``: the enrich worker's analysis on saved HTML or text, without the stack.

Each input becomes a RawPage and goes through ``pipelines.analysis.analyze`` — the very code path
the enrich worker runs — so what this prints is what would be indexed. Nothing is sent anywhere.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import typer
from rich.console import Console

console = Console()
err = Console(stderr=True)

MAX_INPUT_BYTES = 5_000_000
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
OUTPUT_FIELDS = (
    "url", "country", "language", "title", "text", "entities", "phones", "emails", "wallets", "handles", "urls",
    "onions", "ages", "ethnicities", "providers", "indicators", "indicator_ids", "risk", "risk_explanation", "escalate",
)  # fmt: skip


class InputError(Exception):
    """An input that cannot be read; the message names the file and the reason."""


def register(root: typer.Typer) -> None:
    root.command("analyze")(analyze)


def _inputs(source: str) -> Iterator[Path | None]:
    """Files to read: the file, the regular non-hidden files under a folder (sorted), or None for stdin."""
    if source == "-":
        yield None
        return
    path = Path(source)
    if path.is_dir():
        for child in sorted(path.rglob("*")):
            if child.is_file() and not any(part.startswith(".") for part in child.relative_to(path).parts):
                yield child
        return
    yield path


def _read(path: Path | None) -> tuple[str, bool]:
    """(text, had undecodable bytes); raises InputError naming the file and the reason."""
    name = "stdin" if path is None else str(path)
    try:
        if path is None:
            data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        else:
            if not path.exists():
                raise InputError(f"{name}: no such file or folder")
            if not path.is_file():
                raise InputError(f"{name}: not a regular file")
            with path.open("rb") as handle:
                data = handle.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise InputError(f"{name}: {exc.strerror or exc}") from None
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(f"{name}: larger than {MAX_INPUT_BYTES} bytes")
    if b"\x00" in data[:4096]:
        raise InputError(f"{name}: binary content, not HTML or text")
    text = data.decode("utf-8", errors="replace")
    return text, "\ufffd" in text and b"\xef\xbf\xbd" not in data


def page_for(body: str, name: str, country: str | None, language: str | None, url: str | None, html: bool | None):
    """The RawPage the crawler would have published for this saved page."""
    from vigil.core.records import RawPage

    address = url or (name if "://" in name else f"file://{Path(name).resolve()}" if name != "stdin" else "stdin://")
    is_html = html if html is not None else None
    content_type = "text/html" if is_html else "text/plain" if is_html is False else ""
    return RawPage(
        profile_id="analyze", job_id="analyze", url=address, canonical_url=address, final_url=address, status=200,
        content_type=content_type, page_type="ad", ad_id=hashlib.sha256(name.encode()).hexdigest()[:16],
        country=country, language_hint=language, body=body,
        body_sha256=hashlib.sha256(body.encode("utf-8", "replace")).hexdigest(), body_bytes=len(body),
    )  # fmt: skip


def analyze(
    source: str = typer.Argument("-", metavar="[FILE|DIR|-]", help="a saved page, a folder of them, or - for stdin"),
    country: str | None = typer.Option(None, "--country", help="the profile's country (ISO 3166), e.g. US"),
    language: str | None = typer.Option(None, "--language", help="language hint (ISO 639-1), used for short texts"),
    url: str | None = typer.Option(None, "--url", help="the page's URL (default: the file's path)"),
    as_json: bool = typer.Option(False, "--json", help="one JSON object per input, one per line"),
) -> None:
    """Run the enrichment analysis on saved HTML or text and print what it finds: entities with
    spans, ages, indicators with evidence, risk. Exit 2 when an input cannot be read."""
    from pipelines.worker import load_analyzer
    from vigil.app.cli import settings

    run_analysis = load_analyzer(settings())  # the enrich worker's analyser, with its configured limits

    failed = False
    for path in _inputs(source):
        name = "stdin" if path is None else str(path)
        try:
            body, _ = _read(path)
        except InputError as exc:
            err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
            failed = True
            continue
        html = True if path is not None and path.suffix.lower() in HTML_SUFFIXES else None
        doc = run_analysis(page_for(body, name, country, language, url, html))
        record = {"file": name, **doc.model_dump(mode="json", include=set(OUTPUT_FIELDS))}
        if as_json:
            typer.echo(json.dumps(record, ensure_ascii=False))
            continue
        _print_summary(record)
    if failed:
        raise typer.Exit(2)


def _print_summary(record: dict) -> None:
    console.print(f"[bold]{record['file']}[/bold]  {record['language'] or '?'}  risk {record['risk']}"
                  + ("  [red]ESCALATE[/red]" if record["escalate"] else ""), highlight=False)  # fmt: skip
    if record["title"]:
        console.print(f"  title: {record['title']}", highlight=False)
    for entity in record["entities"]:
        flag = " (obfuscated)" if entity.get("obfuscated") else ""
        console.print(f"  {entity['type']}: {entity['value']}  ← {entity['raw']!r}{flag}", highlight=False)
    if record["ages"]:
        console.print(f"  ages: {', '.join(map(str, record['ages']))}", highlight=False)
    for hit in record["indicators"]:
        evidence = "; ".join(span["text"] for span in hit["evidence"][:3])
        console.print(f"  indicator {hit['id']} ({hit['weight']:g}): {evidence}", highlight=False)
