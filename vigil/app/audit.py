"""The analysts' audit trail: who searched, profiled, reported or exported what, and when.

Each analyst command writes one document to the ``es.indices.audit`` alias *before* it reads
anything, and refuses to run when it cannot (an insider must not be able to read unrecorded by
breaking the trail). Who: the Elasticsearch identity the command uses (user name or API key id)
and the operating-system account and host it ran from. Retention never deletes the trail.
"""

from __future__ import annotations

from typing import Any

from vigil.core.audit import entry
from vigil.core.config import Settings


class AuditError(Exception):
    """The action was not recorded, so it must not run."""


def identity(settings: Settings) -> str:
    es = settings.es
    if es.username:
        return f"es:{es.username}"
    if es.api_key:
        key = es.api_key.get_secret_value()
        return f"es-api-key:{key[:6]}…"
    return "es:anonymous"


def record(settings: Settings, action: str, parameters: dict[str, Any], es=None) -> dict[str, Any]:
    """Write the audit document for ``action`` (synchronously, refreshed); raise AuditError if not."""
    from vigil.core.elastic import client

    doc = entry(action, identity(settings), parameters)
    try:
        (es or client(settings.es)).index(
            index=settings.es.indices.audit, document=doc, require_alias=True, refresh="wait_for"
        )
    except Exception as exc:  # noqa: BLE001 - named; the caller refuses to go on
        raise AuditError(
            f"the audit trail ({settings.es.indices.audit}) could not be written, so nothing was read "
            f"(run `vigil init`?): {type(exc).__name__}: {str(exc)[:300]}"
        ) from None
    return doc


def audited(settings: Settings, action: str, **parameters: Any) -> None:
    """For CLI commands: record the action, or print why not and exit 1."""
    import typer
    from rich.console import Console

    try:
        record(settings, action, parameters)
    except AuditError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
