"""Deleting data older than the retention period: Elasticsearch aliases, Kafka topics, files.

Kafka topics get ``retention.ms`` from configuration (``kafka.retention_ms``, per topic
``kafka.topic_retention_ms``, e.g. the dead-letter topic); Kafka deletes older segments itself.
Files: log files (``files_retention.log_dirs``, default ``<home>/logs`` and ``<home>/demo``) not written for
``files_retention.log_days``, files in ``files_retention.report_dirs`` (reports, exports), and
lines of the alert inbox (``alerts.inbox``) older than ``retention_days``.

Elastic's cut-down integ-test distribution (the local stack) has no reindex module and so no
``_delete_by_query``; this uses only search and bulk, which every cluster has: find a batch of
matching ids (``_source`` off), bulk-delete them from their concrete indices, refresh, and ask
again until nothing matches. Re-asking instead of paging means deletions never shift a cursor,
and a rollover index behind the alias is handled like any other.

Which date makes a document old, per alias (``es.indices`` keys):

* ads, entities: ``last_seen`` (not seen for N days), else ``fetched_at``/``first_seen``;
* alerts: ``created_at``; jobs: ``updated_at``, else ``requested_at``; pages: ``fetched_at``.

A document with none of its dates is kept: without a date nobody can say it is old.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from vigil.core.config import ElasticsearchSettings, KafkaSettings, Settings

AGE_FIELDS: dict[str, tuple[str, ...]] = {
    "ads": ("last_seen", "fetched_at", "first_seen"),
    "entities": ("last_seen", "first_seen"),
    "alerts": ("created_at",),
    "jobs": ("updated_at", "requested_at"),
    "pages": ("fetched_at",),
    "ad_versions": ("last_seen", "first_seen"),
}
HELD_BY_AD_KEY = ("ads", "ad_versions")  # an ad under legal hold keeps its document and versions


@dataclass
class Outcome:
    key: str
    alias: str
    matched: int = 0
    deleted: int = 0
    absent: bool = False
    errors: int = 0


def cutoff(days: int, now: datetime | None = None) -> datetime:
    return (now or datetime.now(UTC)) - timedelta(days=days)


def older_than(fields: tuple[str, ...], before: datetime) -> dict[str, Any]:
    """The first of ``fields`` that the document has decides: it must lie before ``before``."""
    when = before.isoformat()
    clauses = []
    for i, name in enumerate(fields):
        missing_earlier = [{"bool": {"must_not": {"exists": {"field": f}}}} for f in fields[:i]]
        clauses.append({"bool": {"filter": [*missing_earlier, {"range": {name: {"lt": when}}}]}})
    return {"bool": {"should": clauses, "minimum_should_match": 1}}


def _exists(es, alias: str) -> bool:
    return bool(es.indices.exists(index=alias))


def purge(
    es,
    settings: ElasticsearchSettings,
    days: int,
    *,
    dry_run: bool = False,
    only: list[str] | None = None,
    batch_size: int = 1000,
    now: datetime | None = None,
    held: set[str] | frozenset[str] = frozenset(),
) -> list[Outcome]:
    """Delete (or with ``dry_run`` only count) documents older than ``days`` in each alias; the
    ads and versions of ``held`` ad keys (legal holds, ``vigil evidence hold``) stay."""
    before = cutoff(days, now)
    aliases = settings.indices.model_dump()
    outcomes = []
    for key, fields in AGE_FIELDS.items():
        if key not in aliases or (only and key not in only):
            continue
        outcome = Outcome(key=key, alias=aliases[key])
        outcomes.append(outcome)
        if not _exists(es, outcome.alias):
            outcome.absent = True
            continue
        query = older_than(fields, before)
        if held and key in HELD_BY_AD_KEY:
            query = {"bool": {"filter": [query], "must_not": [{"terms": {"ad_key": sorted(held)}}]}}
        outcome.matched = es.count(index=outcome.alias, query=query)["count"]
        if dry_run or not outcome.matched:
            continue
        _delete_matching(es, outcome, query, batch_size)
    return outcomes


def _delete_matching(es, outcome: Outcome, query: dict[str, Any], batch_size: int) -> None:
    while True:
        hits = es.search(
            index=outcome.alias,
            query=query,
            size=batch_size,
            source=False,
            sort=["_doc"],
            track_total_hits=False,
        )["hits"]["hits"]
        if not hits:
            return
        operations = []
        for hit in hits:
            action = {"_index": hit["_index"], "_id": hit["_id"]}
            if hit.get("_routing"):
                action["routing"] = hit["_routing"]
            operations.append({"delete": action})
        response = es.bulk(operations=operations)
        deleted = sum(1 for item in response["items"] if item["delete"].get("status") in (200, 404))
        outcome.deleted += deleted
        outcome.errors += len(hits) - deleted
        es.indices.refresh(index=outcome.alias)
        if deleted == 0:  # nothing went: asking again would loop forever
            return


@dataclass
class FileOutcome:
    """One file retention touches: deleted whole (``lines`` None) or trimmed to its recent lines."""

    path: Path
    kind: str
    lines: int | None = None
    of_lines: int | None = None
    done: bool = False


def old_files(settings: Settings, now: datetime | None = None) -> list[FileOutcome]:
    """Log files and report files not modified since their cut-off (none of them is open for writing)."""
    now = now or datetime.now(UTC)
    files = settings.files_retention
    found: list[FileOutcome] = []
    log_dirs = files.log_dirs
    if log_dirs is None:
        log_dirs = [settings.state_dir / "logs", settings.state_dir / "demo"]
    folders = [(Path(d), "log", files.log_days) for d in log_dirs]
    folders += [(Path(d), "report", files.report_days or settings.retention_days) for d in files.report_dirs]
    for folder, kind, days in folders:
        if not folder.is_dir():
            continue
        before = cutoff(days, now).timestamp()
        pattern = "**/*.log*" if kind == "log" else "**/*"
        for path in sorted(folder.glob(pattern)):
            if path.is_file() and not path.is_symlink() and path.stat().st_mtime < before:
                found.append(FileOutcome(path, kind))
    return found


def old_inbox_lines(settings: Settings, now: datetime | None = None) -> FileOutcome | None:
    """How many lines of the alert inbox (JSON lines, ``created_at``) are older than the cut-off."""
    path = settings.alerts.inbox
    if path is None or not Path(path).is_file():
        return None
    before = cutoff(settings.files_retention.inbox_days or settings.retention_days, now)
    lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    old = sum(1 for line in lines if _line_time(line) is not None and _line_time(line) < before)
    return FileOutcome(Path(path), "inbox", old, len(lines))


def _line_time(line: str) -> datetime | None:
    try:
        value = json.loads(line).get("created_at")
        moment = datetime.fromisoformat(value)
    except (ValueError, TypeError, AttributeError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def purge_files(
    settings: Settings, *, dry_run: bool = False, now: datetime | None = None
) -> list[FileOutcome]:
    """Delete old log and report files and drop old lines from the alert inbox (atomically, 0600)."""
    outcomes = old_files(settings, now)
    inbox = old_inbox_lines(settings, now)
    if dry_run:
        return outcomes + ([inbox] if inbox and inbox.lines else [])
    for outcome in outcomes:
        outcome.path.unlink(missing_ok=True)
        outcome.done = True
    if inbox and inbox.lines:
        before = cutoff(settings.files_retention.inbox_days or settings.retention_days, now)
        kept = [
            line
            for line in inbox.path.read_text(encoding="utf-8", errors="replace").splitlines()
            if not ((moment := _line_time(line)) and moment < before)
        ]
        temporary = inbox.path.with_name(inbox.path.name + ".retention")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("".join(line + "\n" for line in kept))
        os.replace(temporary, inbox.path)
        inbox.done = True
        outcomes.append(inbox)
    return outcomes


@dataclass
class TopicOutcome:
    topic: str
    current: str | None
    configured: str
    done: bool = False


def topic_retention(settings: KafkaSettings, *, dry_run: bool = False) -> list[TopicOutcome]:
    """Each topic's retention.ms now and as configured; unless ``dry_run``, set where they differ.

    Kafka itself deletes segments older than retention.ms; this only makes sure the configured
    value is the one in force (as `vigil init` does).
    """
    from vigil.core.kafka import admin, ensure_topics, topic_configs

    client = admin(settings)
    try:
        existing = set(client.list_topics())
        outcomes = []
        for key, name in settings.topics.model_dump().items():
            current = (
                topic_configs(client, name, ["retention.ms"]).get("retention.ms")
                if name in existing
                else None
            )
            outcomes.append(TopicOutcome(name, current, str(settings.retention_for(key))))
    finally:
        client.close()
    if not dry_run and any(o.current != o.configured for o in outcomes):
        ensure_topics(settings)
        for outcome in outcomes:
            outcome.done = outcome.current != outcome.configured
    return outcomes
