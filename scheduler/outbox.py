"""Delivering claimed alerts: one outbox thread per subscriber, and a sweeper for stale states.

Each subscriber has its own outbox, so a dead endpoint being retried never delays anyone else.
Immediate subscribers' alerts arrive through a queue; digest subscribers' alerts wait in
vigil-alerts as ``pending`` and go out together once per window. Either way an alert is moved to
``sending`` (a conditional write: one sender only) before the first attempt, and to ``sent`` or
``failed`` after the last (see scheduler/alert_store.py for the states).

The sweeper picks up what a dead worker left behind: ``pending`` alerts unchanged for
``alerts.stale_seconds`` are handed to their outbox again (never sent, so safe to send), and
``sending`` alerts older than ``alerts.sending_timeout_seconds`` are failed as "outcome unknown"
(perhaps sent, so never resent automatically).
"""

from __future__ import annotations

import json
import os
import queue
import socket
import threading
import uuid
from pathlib import Path

import structlog

from scheduler.alert_format import digest as digest_message
from scheduler.alert_store import Alert, AlertStore, batch_key
from scheduler.delivery import Delivery
from vigil.core.metrics import ALERTS_FAILED, ALERTS_SENT
from vigil.core.records import utcnow

log = structlog.get_logger("vigil.alerts")


def instance_id() -> str:
    """This worker process, as recorded in ``owner`` while it sends."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Inbox:
    """Appends each delivered alert as one JSON line to a local file (the demo reads it)."""

    def __init__(self, path: Path | None):
        self.path = path
        self.lock = threading.Lock()

    def write(self, alert: Alert) -> None:
        if self.path is None:
            return
        line = json.dumps(alert.model_dump(mode="json"), ensure_ascii=False)
        with self.lock:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as handle:
                handle.write(line + "\n")


class Outbox(threading.Thread):
    """One subscriber's deliveries: immediately from a queue, or as a digest once per window."""

    def __init__(
        self,
        subscriber,
        store: AlertStore,
        delivery: Delivery,
        inbox: Inbox,
        stop: threading.Event,
        *,
        owner: str | None = None,
        inflight: set[str] | None = None,
    ):
        super().__init__(name=f"outbox-{subscriber.id}", daemon=True)
        self.subscriber = subscriber
        self.store = store
        self.delivery = delivery
        self.inbox = inbox
        self.stop = stop
        self.owner = owner or instance_id()
        self.inflight = inflight if inflight is not None else set()
        self.queue: queue.Queue[Alert] = queue.Queue()
        self.unrecorded: list[tuple[Alert, str, dict]] = []

    def put(self, alert: Alert) -> None:
        self.queue.put(alert)

    def run(self) -> None:
        if self.subscriber.digest:
            self._digests()
        else:
            self._immediate()

    def _immediate(self) -> None:
        while not (self.stop.is_set() and self.queue.empty()):
            try:
                alert = self.queue.get(timeout=0.2)
            except queue.Empty:
                self._record_unrecorded()
                continue
            self._deliver([alert])

    def _digests(self) -> None:
        while not self.stop.wait(self.subscriber.digest):
            self._send_digest()
        self._send_digest()

    def _send_digest(self) -> None:
        self._record_unrecorded()
        try:
            waiting = self.store.pending(self.subscriber.id, digest=True)
        except Exception as exc:  # noqa: BLE001 - the alerts stay pending for the next window
            log.error("digest not read; retried next window", subscriber=self.subscriber.id, error=str(exc))
            return
        if waiting:
            self._deliver(waiting)

    def _begin(self, alerts: list[Alert]) -> list[Alert]:
        """Move each alert to ``sending`` (ours alone); those another sender took are left out."""
        mine = []
        for alert in alerts:
            try:
                begun = self.store.begin(alert.alert_id, self.owner)
            except Exception as exc:  # noqa: BLE001 - not begun = not sent; stays pending for the sweeper
                log.error("alert not begun; left pending", alert_id=alert.alert_id, error=str(exc)[:300])
                continue
            if begun is not None:
                mine.append(begun)
                self.inflight.add(begun.alert_id)
        return mine

    def _deliver(self, alerts: list[Alert]) -> None:
        alerts = self._begin(alerts)
        if not alerts:
            return
        try:
            self._send(alerts)
        finally:
            for alert in alerts:
                self.inflight.discard(alert.alert_id)

    def _send(self, alerts: list[Alert]) -> None:
        if len(alerts) == 1:
            title, body, key = alerts[0].title, alerts[0].message, alerts[0].alert_id
        else:
            title, body = digest_message(self.subscriber.id, [a.message for a in alerts])
            key = batch_key([a.alert_id for a in alerts])
        already = set.intersection(*(set(a.sent_to) for a in alerts))
        result = self.delivery.send(self.subscriber.targets(), title, body, idempotency_key=key, skip=already)
        sent_to = sorted(already | set(result.sent_to))
        for alert in alerts:
            attempts = alert.attempts + result.attempts
            if result.ok:
                outcome = ("sent", {"attempts": attempts, "delivered_at": utcnow(), "error": None})
            elif result.interrupted and not result.sent_to:
                outcome = ("pending", {"attempts": attempts, "owner": None, "error": result.error})
            else:
                outcome = ("failed", {"attempts": attempts, "error": result.error})
            self._record(alert, outcome[0], {**outcome[1], "sent_to": sent_to})
            if result.ok:
                ALERTS_SENT.labels(subscriber=alert.subscriber, rule=alert.rule_id).inc()
                self.inbox.write(alert)
            elif outcome[0] == "failed":
                ALERTS_FAILED.labels(subscriber=alert.subscriber).inc()
        if result.ok:
            log.info(
                "alert delivered", subscriber=self.subscriber.id, alerts=len(alerts), attempts=result.attempts
            )
        else:
            log.error(
                "alert delivery failed",
                subscriber=self.subscriber.id,
                alerts=len(alerts),
                attempts=result.attempts,
                stopped=result.interrupted,
                error=result.error,
            )

    def _record(self, alert: Alert, status: str, fields: dict) -> None:
        try:
            self.store.finish(alert, status, **fields)
        except Exception as exc:  # noqa: BLE001 - kept and written again later; never resent meanwhile
            log.error(
                "alert outcome not recorded yet", alert_id=alert.alert_id, status=status, error=str(exc)[:300]
            )
            self.unrecorded.append((alert, status, fields))
            self.inflight.add(alert.alert_id)

    def _record_unrecorded(self) -> None:
        waiting, self.unrecorded = self.unrecorded, []
        for alert, status, fields in waiting:
            self.inflight.discard(alert.alert_id)
            self._record(alert, status, fields)


class Sweeper(threading.Thread):
    """Finds alerts a dead worker left behind (see the module docstring); runs once at start."""

    def __init__(self, store: AlertStore, outboxes: dict[str, Outbox], settings, stop: threading.Event):
        super().__init__(name="alert-sweeper", daemon=True)
        self.store = store
        self.outboxes = outboxes
        self.settings = settings
        self.stop = stop
        self.inflight: set[str] = set()
        for outbox in outboxes.values():
            outbox.inflight = self.inflight

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.sweep()
            except Exception as exc:  # noqa: BLE001 - tried again at the next pass
                log.error("sweep failed; tried again later", error=f"{type(exc).__name__}: {exc}"[:300])
            self.stop.wait(self.settings.sweep_seconds)

    def sweep(self) -> dict[str, int]:
        """One pass: returns how many stale pending alerts were handed on and sending ones failed."""
        requeued = 0
        for subscriber_id, outbox in self.outboxes.items():
            if outbox.subscriber.digest:
                continue  # a digest window takes every pending alert anyway
            for alert in self.store.pending(
                subscriber_id, digest=False, older_than=self.settings.stale_seconds
            ):
                outbox.put(alert)
                requeued += 1
        given_up = 0
        for held in self.store.stale_sending(self.settings.sending_timeout_seconds):
            if held.alert.alert_id in self.inflight:
                continue
            if self.store.give_up(held) is not None:
                given_up += 1
                ALERTS_FAILED.labels(subscriber=held.alert.subscriber).inc()
                log.error(
                    "alert left sending by a stopped worker: failed, outcome unknown",
                    alert_id=held.alert.alert_id,
                    subscriber=held.alert.subscriber,
                    owner=held.alert.owner,
                )
        if requeued or given_up:
            log.info("sweep", requeued=requeued, outcome_unknown=given_up)
        return {"requeued": requeued, "outcome_unknown": given_up}
