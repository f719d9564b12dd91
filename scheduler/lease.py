"""A leadership lease in the scheduler's database, so two schedulers never both publish a run.

APScheduler 3.x does not support two schedulers on one job store (both would run every job).
Every ``vigil scheduler`` therefore competes for one row of ``vigil_leases``:
``(name, holder, expires_at)``. The holder renews it every few seconds with a conditional UPDATE
(``WHERE holder = me OR expires_at < now``), which the database serialises, so at most one
process holds an unexpired lease. Only the holder runs jobs; a standby takes over once the
lease has expired (a killed leader is replaced after at most ``lease_seconds``).

Before publishing, a run checks ``held()``: the lease is still valid by the holder's own clock,
with a safety margin. That fences a leader that stalled (GC pause, lost database) from publishing
after a standby could have taken over. Hosts sharing one database need clocks in sync (NTP)
to well under the margin.
"""

from __future__ import annotations

import os
import socket
import time
import uuid

from sqlalchemy import Column, Float, MetaData, String, Table, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

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


class Lease:
    """One named lease; ``acquire()`` takes or renews it, ``held()`` says whether to act on it."""

    def __init__(self, engine: Engine, name: str, ttl: float, holder: str | None = None):
        self.engine = engine
        self.name = name
        self.ttl = ttl
        self.holder = holder or new_holder()
        self.margin = ttl / 3
        self._valid_until = 0.0
        metadata.create_all(engine, tables=[leases_table])

    def acquire(self) -> bool:
        """Take the lease if free or expired, renew it if ours; True while we hold it."""
        now = time.time()
        expires = now + self.ttl
        table = leases_table
        with self.engine.begin() as conn:
            renewed = conn.execute(
                update(table)
                .where(table.c.name == self.name)
                .where((table.c.holder == self.holder) | (table.c.expires_at < now))
                .values(holder=self.holder, expires_at=expires)
            ).rowcount
            if not renewed:
                exists = conn.execute(select(table.c.name).where(table.c.name == self.name)).first()
                if exists is None:
                    try:
                        with conn.begin_nested():
                            conn.execute(
                                insert(table).values(
                                    name=self.name, holder=self.holder, expires_at=expires, acquired_at=now
                                )
                            )
                        renewed = 1
                    except IntegrityError:
                        renewed = 0
        self._valid_until = expires if renewed else 0.0
        return bool(renewed)

    def held(self) -> bool:
        """True if the last renewal is recent enough to act on (a margin before it expires)."""
        return time.time() < self._valid_until - self.margin

    def release(self) -> None:
        """Give the lease up at once (clean shutdown), so a standby need not wait for expiry."""
        self._valid_until = 0.0
        with self.engine.begin() as conn:
            conn.execute(
                update(leases_table)
                .where(leases_table.c.name == self.name, leases_table.c.holder == self.holder)
                .values(expires_at=0.0)
            )
