"""A leadership lease in the scheduler's database, so two schedulers never both publish a run.

APScheduler 3.x does not support two schedulers on one job store (both would run every job).
Every ``vigil scheduler`` therefore competes for one row of ``vigil_leases``:
``(name, holder, expires_at)``. The holder renews it every few seconds with one conditional
UPDATE (``WHERE holder = me OR expires_at < now``). The database serialises it: on PostgreSQL
the UPDATE takes the row lock and re-checks its condition on the row as committed by whoever held
the lock before (READ COMMITTED), on SQLite the write lock covers the file; so at most one
process holds an unexpired lease. Only the holder runs jobs; a standby takes over once the lease
has expired (a killed leader is replaced after at most ``lease_seconds`` plus one renewal tick).

Expiry is read on the database's clock, in the same statement, so schedulers on hosts with
skewed clocks still agree on it. Before publishing, a run checks ``held()``: by the holder's own
monotonic clock, started before the renewal was sent, the lease is still valid with a safety
margin. That fences a leader that stalled (GC pause, lost database) from publishing after a
standby could have taken over.
"""

from __future__ import annotations

import os
import socket
import time
import uuid

from sqlalchemy import Column, Float, MetaData, String, Table, case, func, insert, literal, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from scheduler.watches import create_tables

metadata = MetaData()

leases_table = Table(
    "vigil_leases",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("acquired_at", Float, nullable=False),
)


def new_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def database_now(conn: Connection):
    """The database's current time in epoch seconds, as an SQL expression."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return func.extract("epoch", func.clock_timestamp()).cast(Float)
    if dialect == "sqlite":
        return (func.julianday("now") - 2440587.5) * 86400.0
    return literal(time.time(), Float)


class Lease:
    """One named lease; ``acquire()`` takes or renews it, ``held()`` says whether to act on it."""

    def __init__(self, engine: Engine, name: str, ttl: float, holder: str | None = None):
        self.engine = engine
        self.name = name
        self.ttl = ttl
        self.holder = holder or new_holder()
        self.margin = ttl / 3
        self._valid_until = 0.0
        create_tables(engine, leases_table)

    def acquire(self) -> bool:
        """Take the lease if free or expired, renew it if ours; True while we hold it."""
        sent = time.monotonic()
        table = leases_table
        with self.engine.begin() as conn:
            now = database_now(conn)
            renewed = conn.execute(
                update(table)
                .where(table.c.name == self.name)
                .where((table.c.holder == self.holder) | (table.c.expires_at < now))
                .values(
                    holder=self.holder,
                    expires_at=now + self.ttl,
                    acquired_at=case((table.c.holder == self.holder, table.c.acquired_at), else_=now),
                )
            ).rowcount
            if not renewed:
                exists = conn.execute(select(table.c.name).where(table.c.name == self.name)).first()
                if exists is None:
                    try:
                        with conn.begin_nested():
                            conn.execute(
                                insert(table).values(
                                    name=self.name, holder=self.holder, expires_at=now + self.ttl, acquired_at=now
                                )
                            )
                        renewed = 1
                    except IntegrityError:
                        renewed = 0
        self._valid_until = sent + self.ttl if renewed else 0.0
        return bool(renewed)

    def held(self) -> bool:
        """True if the last renewal is recent enough to act on (a margin before it expires)."""
        return time.monotonic() < self._valid_until - self.margin

    def release(self) -> None:
        """Give the lease up at once (clean shutdown), so a standby need not wait for expiry."""
        self._valid_until = 0.0
        with self.engine.begin() as conn:
            conn.execute(
                update(leases_table)
                .where(leases_table.c.name == self.name, leases_table.c.holder == self.holder)
                .values(expires_at=0.0)
            )
