"""Alert history and delivery state in Elasticsearch (vigil-alerts).

An alert's document id is its idempotency key: a hash of (subscriber, ad_key, rule_id), created
with ``op_type=create``. The first worker to create it owns the alert; a re-delivered event, a
duplicate event or a restarted worker gets a conflict and sends nothing.

Delivery state, every change but the outcome a conditional write (``if_seq_no`` and
``if_primary_term``; this Elasticsearch has no painless)::

    pending --begin--> sending --finish--> sent | failed
       ^                  |  \\--release (stopped, nothing sent)--> pending
       |                  \\--sweep (stale: its worker died mid-send)--> failed ("outcome unknown")
       \\--------- retry (``vigil alerts retry``) --------------------- failed

``pending`` means "certainly not sent yet": the move to ``sending`` is recorded *before* any
attempt. So a pending alert whose worker died is safe to send again (the sweeper does), while a
``sending`` alert whose worker died may or may not have reached the channel and is never resent
automatically: it is failed with the reason, for a person to retry.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from vigil.core.records import utcnow

AlertStatus = Literal["pending", "sending", "sent", "failed", "queued", "delivered"]
WRITE_ATTEMPTS = 4
UNKNOWN_OUTCOME = (
    "outcome unknown: the worker stopped while sending; not resent automatically "
    "(`vigil alerts retry` sends it again)"
)
PENDING = ["pending", "queued"]  # "queued": digest alerts recorded before delivery states existed


def alert_id(subscriber: str, ad_key: str, rule_id: str) -> str:
    return hashlib.sha256(f"{subscriber}\x1f{ad_key}\x1f{rule_id}".encode()).hexdigest()


def batch_key(alert_ids: list[str]) -> str:
    """The idempotency key of one message carrying several alerts (a digest)."""
    return hashlib.sha256("\x1f".join(sorted(alert_ids)).encode()).hexdigest()


class Alert(BaseModel):
    """One (subscriber, ad, rule) alert: what, why, to whom, when, and how delivery went."""

    alert_id: str
    subscriber: str
    rule_id: str
    ad_key: str
    url: str
    profile_id: str
    job_id: str | None = None
    event_id: str | None = None
    event_type: str = "ad.new"
    evidence: list[str] = []
    title: str = Field("", description="the message's title as sent (inert)")
    message: str = Field("", description="the message's body as sent (inert)")
    content: str = "summary"
    escalated: bool = False
    targets: list[str] = Field(default_factory=list, description="the subscriber's URLs, privacy-masked")
    digest: bool = False
    status: AlertStatus = "pending"
    state_at: datetime = Field(default_factory=utcnow, description="when the status last changed")
    owner: str | None = Field(None, description="the worker instance sending it")
    sent_to: list[str] = Field(default_factory=list, description="masked targets that accepted it")
    attempts: int = 0
    error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    delivered_at: datetime | None = None


@dataclass
class Held:
    """An alert as read, with the version a conditional write must match."""

    alert: Alert
    seq_no: int
    primary_term: int
    index: str


class AlertStore:
    def __init__(self, es, index: str):
        self.es = es
        self.index = index

    def claim(self, alert: Alert) -> bool:
        """Create the alert's document; False if it exists (already alerted). Other errors raise."""
        from elasticsearch import ConflictError

        try:
            self.es.create(index=self.index, id=alert.alert_id, document=alert.model_dump(mode="json"))
        except ConflictError:
            return False
        return True

    def read(self, alert_id: str) -> Held | None:
        """The alert and its version (a realtime GET: no refresh needed)."""
        from elasticsearch import NotFoundError

        try:
            found = self.es.get(index=self.index, id=alert_id)
        except NotFoundError:
            return None
        return Held(
            Alert.model_validate(found["_source"]), found["_seq_no"], found["_primary_term"], found["_index"]
        )

    def transition(self, held: Held, status: AlertStatus, **fields: Any) -> Alert | None:
        """Move ``held`` to ``status`` only if nobody changed it since it was read; None if someone did."""
        from elasticsearch import ConflictError

        changes = {"status": status, "state_at": utcnow(), **fields}
        alert = held.alert.model_copy(update=changes)
        doc = {key: alert.model_dump(mode="json")[key] for key in changes}
        try:
            self.es.update(
                index=held.index,
                id=alert.alert_id,
                doc=doc,
                if_seq_no=held.seq_no,
                if_primary_term=held.primary_term,
                refresh=False,
            )
        except ConflictError:
            return None
        return alert

    def begin(self, alert_id: str, owner: str) -> Alert | None:
        """pending -> sending, by one owner only; None if the alert is not pending (any more)."""
        held = self.read(alert_id)
        if held is None or held.alert.status not in PENDING:
            return None
        return self.transition(held, "sending", owner=owner)

    def finish(self, alert: Alert, status: AlertStatus, **fields: Any) -> Alert:
        """Record an outcome the sender knows (sent, failed, or back to pending); retried, since
        losing it would misreport the alert. Unconditional: the sender knows better than a sweeper."""
        changes = {"status": status, "state_at": utcnow(), **fields}
        updated = alert.model_copy(update=changes)
        doc = {key: updated.model_dump(mode="json")[key] for key in changes}
        delay = 0.5
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                self.es.update(index=self.index, id=alert.alert_id, doc=doc, retry_on_conflict=3)
                return updated
            except Exception:
                if attempt == WRITE_ATTEMPTS:
                    raise
                time.sleep(delay)
                delay *= 2
        return updated

    def _search(self, filters: list[dict], *, limit: int, newest_first: bool = False) -> list[Held]:
        self.es.indices.refresh(index=self.index)
        found = self.es.search(
            index=self.index,
            query={"bool": {"filter": filters}} if filters else {"match_all": {}},
            sort=[{"created_at": "desc" if newest_first else "asc"}],
            size=limit,
            seq_no_primary_term=True,
        )
        return [
            Held(Alert.model_validate(h["_source"]), h["_seq_no"], h["_primary_term"], h["_index"])
            for h in found["hits"]["hits"]
        ]

    def pending(
        self, subscriber: str, *, digest: bool, older_than: float = 0.0, limit: int = 500
    ) -> list[Alert]:
        """Alerts of a subscriber not sent yet, oldest first (``older_than``: seconds since their
        last change, for the sweeper)."""
        filters: list[dict] = [
            {"term": {"subscriber": subscriber}},
            {"terms": {"status": PENDING}},
            {"term": {"digest": digest}},
        ]
        if older_than:
            cutoff = utcnow() - timedelta(seconds=older_than)
            stale = {"range": {"state_at": {"lte": cutoff.isoformat()}}}
            undated = {"bool": {"must_not": {"exists": {"field": "state_at"}}}}
            filters.append({"bool": {"should": [stale, undated], "minimum_should_match": 1}})
        return [held.alert for held in self._search(filters, limit=limit)]

    def queued(self, subscriber: str, limit: int = 500) -> list[Alert]:
        """Alerts waiting for a subscriber's digest, oldest first."""
        return self.pending(subscriber, digest=True, limit=limit)

    def stale_sending(self, older_than: float, limit: int = 500) -> list[Held]:
        """Alerts left ``sending`` for longer than ``older_than`` seconds (their worker died mid-send)."""
        cutoff = utcnow() - timedelta(seconds=older_than)
        return self._search(
            [{"term": {"status": "sending"}}, {"range": {"state_at": {"lte": cutoff.isoformat()}}}],
            limit=limit,
        )

    def give_up(self, held: Held) -> Alert | None:
        """A stale ``sending`` alert -> failed, outcome unknown (conditional: a live sender wins)."""
        return self.transition(held, "failed", error=UNKNOWN_OUTCOME, owner=None)

    def retry(
        self,
        *,
        alert_ids: list[str] | None = None,
        subscriber: str | None = None,
        rule: str | None = None,
        due_after: float = 0.0,
        limit: int = 500,
    ) -> list[Alert]:
        """Failed alerts -> pending, dated so the sweeper sends them at its next pass
        (``due_after``: its staleness threshold). Returns those moved."""
        filters: list[dict] = [{"term": {"status": "failed"}}]
        if alert_ids:
            filters.append({"ids": {"values": alert_ids}})
        for field, value in (("subscriber", subscriber), ("rule_id", rule)):
            if value:
                filters.append({"term": {field: value}})
        moved = []
        for held in self._search(filters, limit=limit):
            due = utcnow() - timedelta(seconds=due_after)
            alert = self.transition(held, "pending", owner=None, state_at=due)
            if alert is not None:
                moved.append(alert)
        return moved

    def history(
        self,
        *,
        limit: int = 50,
        subscriber: str | None = None,
        status: str | None = None,
        rule: str | None = None,
        alert_ids: list[str] | None = None,
    ) -> list[Alert]:
        """The latest alerts, newest first, optionally filtered."""
        filters: list[dict] = [
            {"term": {field: value}}
            for field, value in (("subscriber", subscriber), ("status", status), ("rule_id", rule))
            if value
        ]
        if alert_ids:
            filters.append({"ids": {"values": alert_ids}})
        return [held.alert for held in self._search(filters, limit=limit, newest_first=True)]
