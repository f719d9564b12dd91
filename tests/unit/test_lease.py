"""The scheduler's leadership lease on SQLite and, when Debian's PostgreSQL is installed, on PostgreSQL.

The PostgreSQL cases run on the local stack's server (``vigil stack up --with postgres``, started
by the ``postgres`` fixture if needed), each in a database of its own.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from scheduler.lease import Lease, leases_table
from scheduler.watches import engine_for
from tests.helpers import wait_for

LONG = 60.0
SHORT = 1.5


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def engine(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'scheduler.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = engine_for(url)
    yield engine
    engine.dispose()


def row(engine, name: str):
    with engine.connect() as conn:
        return conn.execute(select(leases_table).where(leases_table.c.name == name)).first()


def test_first_comer_acquires_and_renews_others_wait(engine):
    first, second = Lease(engine, "l", LONG, "a"), Lease(engine, "l", LONG, "b")
    assert first.acquire() and first.held()
    assert not second.acquire() and not second.held()
    acquired_at = row(engine, "l").acquired_at
    assert first.acquire(), "the holder renews its own lease"
    assert row(engine, "l").acquired_at == acquired_at, "a renewal is not a new acquisition"
    assert row(engine, "l").holder == "a"


def test_an_expired_lease_is_taken_over(engine):
    first, second = Lease(engine, "l", SHORT, "a"), Lease(engine, "l", SHORT, "b")
    assert first.acquire()
    before = row(engine, "l")
    assert not second.acquire(), "not before it expires"
    assert wait_for(second.acquire, timeout=10 * SHORT, interval=0.1), "never taken over after expiry"
    after = row(engine, "l")
    assert after.holder == "b" and after.acquired_at > before.acquired_at
    assert after.expires_at - after.acquired_at == pytest.approx(SHORT, abs=0.05)
    assert not first.acquire(), "the old holder does not get it back while the new one renews"


def test_held_ends_a_margin_before_expiry(engine):
    lease = Lease(engine, "l", SHORT, "a")
    assert lease.acquire() and lease.held()
    assert wait_for(lambda: not lease.held(), timeout=SHORT, interval=0.05)
    assert row(engine, "l").holder == "a", "held() is local: it says when to stop acting, not who holds it"


def test_release_hands_over_at_once(engine):
    first, second = Lease(engine, "l", LONG, "a"), Lease(engine, "l", LONG, "b")
    assert first.acquire()
    first.release()
    assert not first.held()
    assert second.acquire() and row(engine, "l").holder == "b"
    second.release()
    assert first.acquire(), "a released lease can be taken again by anyone"


def test_leases_of_different_names_are_independent(engine):
    assert Lease(engine, "x", LONG, "a").acquire()
    assert Lease(engine, "y", LONG, "b").acquire()


def test_many_contenders_at_once_one_winner_per_round(engine):
    """Eight schedulers race for a lease that does not exist yet (the INSERT race), then keep racing."""
    contenders = [Lease(engine, "race", LONG, f"h{i}") for i in range(8)]
    for round_ in range(5):
        won, errors = race(contenders)
        assert not errors, errors
        assert len(won) == 1, f"round {round_}: {won} all believe they lead"
        assert row(engine, "race").holder == won[0]


def race(contenders: list[Lease]) -> tuple[list[str], list[BaseException]]:
    """Every contender calls ``acquire()`` at the same moment, each in its own thread."""
    barrier = threading.Barrier(len(contenders))
    won: list[str] = []
    errors: list[BaseException] = []

    def attempt(lease: Lease) -> None:
        try:
            barrier.wait()
            if lease.acquire():
                won.append(lease.holder)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=attempt, args=(lease,)) for lease in contenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return won, errors
