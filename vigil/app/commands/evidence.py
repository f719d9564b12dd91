"""``vigil evidence``: signed manifests, the public key, export and verification, legal holds."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from vigil.app.cli import err, settings

app = typer.Typer(help="Evidence custody: manifests, export bundles, verification, legal holds.", no_args_is_help=True)
console = Console()


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _when(value: str) -> datetime:
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise _fail(f"--period: {value!r} is not an ISO date or time", 2) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@app.command()
def manifest(
    period: str | None = typer.Option(
        None, "--period", help="a date/time inside the period to (re)write, e.g. 2026-12-01; default: every ended period without one"
    ),
) -> None:
    """Write signed manifests: the named period's (up to now if it has not ended), else all that are due."""
    from vigil.core.custody import CustodyError, period_of, write_due_manifests, write_manifest
    from vigil.core.evidence import EvidenceError, open_store

    cfg = settings()
    try:
        store = open_store(cfg)
        if period:
            written = [write_manifest(store, cfg, period_of(_when(period), cfg.evidence.manifest_interval_hours))]
        else:
            written = write_due_manifests(store, cfg)
    except (CustodyError, EvidenceError) as exc:
        raise _fail(str(exc)) from None
    if not written:
        console.print("no manifest due: every ended period has one (or the store is empty)")
    for m in written:
        d = m.document
        console.print(
            f"{m.name}: {len(d['objects'])} objects, {d['tree_size']} leaves, root {d['root']}", highlight=False, soft_wrap=True
        )


@app.command()
def pubkey(
    out: Path | None = typer.Option(None, "--out", help="also write the PEM here"),
) -> None:
    """Print the public key that signs manifests and bundles, and its SHA-256 fingerprint."""
    from vigil.core.custody import CustodyError, fingerprint, public_pem, signing_key

    try:
        key = signing_key(settings())
    except CustodyError as exc:
        raise _fail(str(exc)) from None
    pem = public_pem(key)
    if out:
        out.write_bytes(pem)
    typer.echo(pem.decode(), nl=False)
    err.print(f"fingerprint (sha256 of the DER key): {fingerprint(key)}", highlight=False)


@app.command()
def export(
    ad_key: str = typer.Argument(..., help="the ad's key (profile_id:ad_id or its canonical URL)"),
    out: Path = typer.Option(..., "--out", "-o", help="the bundle to write (zip)"),
) -> None:
    """Write an ad's evidence bundle: WARC records, screenshots, versions, signed manifests, proofs, README."""
    from vigil.app.audit import audited
    from vigil.app.evidence import ad_evidence, export_bundle
    from vigil.core.custody import CustodyError
    from vigil.core.elastic import client
    from vigil.core.evidence import EvidenceError, open_store

    cfg = settings()
    audited(cfg, "evidence.export", ad_key=ad_key, out=str(out.resolve()))
    es = client(cfg.es)
    try:
        versions, captures = ad_evidence(es, cfg, ad_key)
        result = export_bundle(cfg, open_store(cfg), ad_key, versions, captures, out)
    except (CustodyError, EvidenceError) as exc:
        raise _fail(str(exc)) from None
    finally:
        es.close()
    console.print(
        f"{out}: {len(result.records)} WARC records, {len(result.screenshots)} screenshots, "
        f"{len(result.manifests)} manifests",
        highlight=False,
        soft_wrap=True,
    )
    for item in result.missing:
        err.print(f"[yellow]not exported:[/yellow] {item}", highlight=False, soft_wrap=True)
    if result.changed:
        for item in result.changed:
            err.print(f"[red]differs from its manifest:[/red] {item}", highlight=False, soft_wrap=True)
        raise _fail("stored evidence no longer matches its signed manifest (the bundle shows which)")


@app.command()
def verify(
    bundle: Path = typer.Argument(..., help="the bundle (zip, or the unpacked directory)"),
    pubkey: Path | None = typer.Option(None, "--pubkey", help="the signing key obtained independently (PEM)"),
) -> None:
    """Check a bundle: exit 0 intact, 1 naming each changed file or failing signature/proof, 2 unusable."""
    from vigil.core.evidence_verify import main

    code = main([str(bundle), *(["--pubkey", str(pubkey)] if pubkey else [])])
    raise typer.Exit(code)


@app.command()
def hold(
    ad_key: str | None = typer.Argument(None, help="the ad to keep past retention"),
    reason: str = typer.Option("", "--reason", help="why (case number, request); kept with the hold and audited"),
    list_: bool = typer.Option(False, "--list", help="list the holds"),
) -> None:
    """Put an ad's evidence on legal hold (retention keeps it), or list the holds."""
    from vigil.app.audit import audited, identity
    from vigil.app.evidence import ad_evidence
    from vigil.core.custody import holds, put_hold
    from vigil.core.elastic import client
    from vigil.core.evidence import open_store

    cfg = settings()
    store = open_store(cfg)
    if list_:
        table = Table("ad", "since", "by", "reason", "objects", title="legal holds")
        for h in holds(store):
            table.add_row(h["ad_key"], h["held_at"], h["held_by"], h.get("reason", ""), str(len(h["objects"])))
        console.print(table)
        return
    if not ad_key:
        raise _fail("name the ad to hold, or --list", 2)
    audited(cfg, "evidence.hold", ad_key=ad_key, reason=reason)
    es = client(cfg.es)
    try:
        versions, captures = ad_evidence(es, cfg, ad_key)
    finally:
        es.close()
    if not versions:
        err.print(f"[yellow]warning:[/yellow] no ad {ad_key} is indexed; held by key for when it is", highlight=False)
    objects = [c.warc_file for c in captures] + [c.screenshot for c in captures if c.screenshot]
    put_hold(store, ad_key, reason, identity(cfg), objects)
    console.print(f"held {ad_key}: {len(objects)} evidence objects now, and whatever it references later")


@app.command()
def release(ad_key: str = typer.Argument(..., help="the ad whose hold ends")) -> None:
    """End a legal hold: the ad's evidence follows retention again."""
    from vigil.app.audit import audited
    from vigil.core.custody import release_hold
    from vigil.core.evidence import open_store

    cfg = settings()
    audited(cfg, "evidence.release", ad_key=ad_key)
    if not release_hold(open_store(cfg), ad_key):
        raise _fail(f"{ad_key} is not on hold")
    console.print(f"released {ad_key}")
