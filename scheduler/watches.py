"""Watches: which profiles are re-crawled and when, kept in the scheduler's database.

The ``vigil_watches`` table is the source of truth for what is watched; `vigil watch ...` and the
profiles' ``watch`` key both write it, and the scheduler turns each row into an APScheduler job
in the same database (so a restart loses neither a watch nor its next run time). A watch's id is
its profile id: one schedule per site.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields
from datetime import timedelta
from pathlib import Path
from typing import Literal

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

Source = Literal["cli", "profile"]

metadata = MetaData()

watches_table = Table(
    "vigil_watches",
    metadata,
    Column("watch_id", String(200), primary_key=True),
    Column("profile_id", String(200), nullable=False),
    Column("profile_path", String(1000), nullable=True),
    Column("source", String(16), nullable=False),
    Column("every_seconds", Float, nullable=True),
    Column("cron", String(200), nullable=True),
    Column("incremental", Boolean, nullable=False),
    Column("baseline", Boolean, nullable=False),
    Column("max_pages", Integer, nullable=True),
    Column("paused", Boolean, nullable=False, default=False),
    Column("runs", Integer, nullable=False, default=0),
    Column("last_run_at", Float, nullable=True),
    Column("last_job_id", String(64), nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)


class WatchError(Exception):
    """A watch that cannot be added or changed, with the reason."""


@dataclass
class Watch:
    """One watched profile: its schedule (interval or cron) and its run history."""

    watch_id: str
    profile_id: str
    source: Source
    every_seconds: float | None = None
    cron: str | None = None
    profile_path: str | None = None
    incremental: bool = True
    baseline: bool = True
    max_pages: int | None = None
    paused: bool = False
    runs: int = 0
    last_run_at: float | None = None
    last_job_id: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0

    def __post_init__(self) -> None:
        if (self.every_seconds is None) == (self.cron is None):
            raise WatchError(f"watch {self.watch_id}: give exactly one of an interval or a cron expression")
        if self.every_seconds is not None and self.every_seconds < 1:
            raise WatchError(f"watch {self.watch_id}: the interval must be at least 1 second")
        if self.cron is not None:
            from scheduler.triggers import cron_trigger

            try:
                cron_trigger(self.cron, None)
            except ValueError as exc:
                raise WatchError(f"watch {self.watch_id}: not a valid crontab expression ({exc})") from None

    @property
    def schedule(self) -> str:
        """A stable text form of the schedule: changes when the trigger must change."""
        if self.every_seconds is not None:
            return f"every {_format_seconds(self.every_seconds)}"
        return f"cron {self.cron}"


def _format_seconds(seconds: float) -> str:
    span = timedelta(seconds=seconds)
    total = int(span.total_seconds())
    if total != seconds:
        return f"{seconds}s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if total >= size:
            parts.append(f"{total // size}{unit}")
            total %= size
    return "".join(parts) or "0s"


_COLUMNS = [f.name for f in fields(Watch)]


# Any constant: the advisory lock under which schedulers starting together create their tables.
SCHEMA_LOCK = 0x76_69_67_69_6C


def database_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3, the driver Vigil installs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def engine_for(url: str) -> Engine:
    """An engine for the scheduler database; SQLite waits for locks instead of failing at once.

    SQLite serves one host (schedulers sharing its file); PostgreSQL serves schedulers anywhere.
    """
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        return create_engine(url, connect_args={"timeout": 30})
    return create_engine(database_url(url), pool_pre_ping=True)


def create_tables(engine: Engine, *tables: Table) -> None:
    """Create the missing ``tables``; two schedulers starting at once must not race on CREATE TABLE
    (PostgreSQL would fail one of them on its catalog's unique index), so there it is serialised."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
        for table in tables:
            table.create(conn, checkfirst=True)


class WatchStore:
    """CRUD on the watches table; every change is one short transaction."""

    def __init__(self, engine: Engine):
        self.engine = engine
        create_tables(engine, watches_table)

    def _row(self, row) -> Watch:
        return Watch(**{name: row._mapping[name] for name in _COLUMNS})

    def get(self, watch_id: str) -> Watch | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(watches_table).where(watches_table.c.watch_id == watch_id)).first()
        return self._row(row) if row else None

    def all(self) -> list[Watch]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(watches_table).order_by(watches_table.c.watch_id)).all()
        return [self._row(row) for row in rows]

    def add(self, watch: Watch) -> Watch:
        """Insert, or replace the schedule of an existing watch (keeping its run history)."""
        now = time.time()
        schedule = {
            "profile_id": watch.profile_id,
            "profile_path": watch.profile_path,
            "source": watch.source,
            "every_seconds": watch.every_seconds,
            "cron": watch.cron,
            "incremental": watch.incremental,
            "baseline": watch.baseline,
            "max_pages": watch.max_pages,
            "updated_at": now,
        }
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(watches_table).where(watches_table.c.watch_id == watch.watch_id).values(**schedule)
            ).rowcount
            if not changed:
                try:
                    with conn.begin_nested():
                        conn.execute(
                            insert(watches_table).values(
                                watch_id=watch.watch_id,
                                paused=watch.paused,
                                runs=0,
                                created_at=now,
                                **schedule,
                            )
                        )
                except IntegrityError:
                    conn.execute(
                        update(watches_table)
                        .where(watches_table.c.watch_id == watch.watch_id)
                        .values(**schedule)
                    )
        stored = self.get(watch.watch_id)
        assert stored is not None
        return stored

    def set_paused(self, watch_id: str, paused: bool) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(
                update(watches_table)
                .where(watches_table.c.watch_id == watch_id)
                .values(paused=paused, updated_at=time.time())
            )
        return result.rowcount == 1

    def remove(self, watch_id: str) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(delete(watches_table).where(watches_table.c.watch_id == watch_id))
        return result.rowcount == 1

    def claim_run(self, watch: Watch, job_id: str) -> bool:
        """Count one run, only if no one else counted it since ``watch`` was read (compare-and-set)."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(watches_table)
                .where(watches_table.c.watch_id == watch.watch_id, watches_table.c.runs == watch.runs)
                .values(runs=watch.runs + 1, last_run_at=time.time(), last_job_id=job_id)
            )
        return result.rowcount == 1

    def unclaim_run(self, watch: Watch, job_id: str) -> None:
        """Undo ``claim_run`` after the crawl job could not be published (so a baseline is not lost)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(watches_table)
                .where(watches_table.c.watch_id == watch.watch_id, watches_table.c.last_job_id == job_id)
                .values(runs=watch.runs, last_run_at=watch.last_run_at, last_job_id=watch.last_job_id)
            )

    def sync_profiles(self, profiles, baseline: bool) -> dict[str, str]:
        """Mirror the profiles' ``watch`` keys: add or update theirs, drop those a profile lost.

        Watches added with `vigil watch add` win over a profile's own ``watch`` key and are never
        removed here. Returns watch id -> 'added' | 'updated' | 'removed' for what changed.
        """
        current = {w.watch_id: w for w in self.all()}
        wanted: dict[str, Watch] = {}
        for profile in profiles:
            if profile.watch is None or not profile.enabled:
                continue
            interval = profile.watch.interval
            wanted[profile.id] = Watch(
                watch_id=profile.id,
                profile_id=profile.id,
                source="profile",
                every_seconds=interval.total_seconds() if interval else None,
                cron=profile.watch.cron,
                incremental=profile.watch.incremental,
                baseline=baseline,
            )
        changes: dict[str, str] = {}
        for watch_id, watch in wanted.items():
            existing = current.get(watch_id)
            if existing is not None and existing.source == "cli":
                continue
            if existing is None:
                self.add(watch)
                changes[watch_id] = "added"
            elif (existing.schedule, existing.incremental) != (watch.schedule, watch.incremental):
                self.add(watch)
                changes[watch_id] = "updated"
        for watch_id, existing in current.items():
            if existing.source == "profile" and watch_id not in wanted:
                self.remove(watch_id)
                changes[watch_id] = "removed"
        return changes
