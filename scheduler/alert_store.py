"""Alert history in Elasticsearch (vigil-alerts), which is also what makes alerts at-most-once.

An alert's document id is a hash of (subscriber, ad_key, rule_id), created with
``op_type=create``: the first worker to create it owns the alert; a re-delivered event, a
duplicate event or a restarted worker gets a conflict and sends nothing. The document then
records what happened: pending/queued -> delivered | failed, with attempts and the error.
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from vigil.core.records import utcnow

AlertStatus = Literal["pending", "queued", "delivered", "failed"]
WRITE_ATTEMPTS = 4


def alert_id(subscriber: str, ad_key: str, rule_id: str) -> str:
    return hashlib.sha256(f"{subscriber}\x1f{ad_key}\x1f{rule_id}".encode()).hexdigest()


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
    title: str = ""
    message: str = ""
    targets: list[str] = Field(default_factory=list, description="the subscriber's URLs, secrets masked")
    digest: bool = False
    status: AlertStatus = "pending"
    attempts: int = 0
    error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    delivered_at: datetime | None = None


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

    def update(self, alert: Alert, **fields: Any) -> None:
        """Record a delivery outcome; retried, since losing it would misreport the alert."""
        for key, value in fields.items():
            setattr(alert, key, value)
        changes = {key: alert.model_dump(mode="json")[key] for key in fields}
        delay = 0.5
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                self.es.update(index=self.index, id=alert.alert_id, doc=changes, retry_on_conflict=3)
                return
            except Exception:
                if attempt == WRITE_ATTEMPTS:
                    raise
                time.sleep(delay)
                delay *= 2

    def queued(self, subscriber: str, limit: int = 500) -> list[Alert]:
        """Alerts waiting for a subscriber's digest, oldest first."""
        self.es.indices.refresh(index=self.index)
        found = self.es.search(
            index=self.index,
            query={
                "bool": {"filter": [{"term": {"subscriber": subscriber}}, {"term": {"status": "queued"}}]}
            },
            sort=[{"created_at": "asc"}],
            size=limit,
        )
        return [Alert.model_validate(hit["_source"]) for hit in found["hits"]["hits"]]

    def history(
        self,
        *,
        limit: int = 50,
        subscriber: str | None = None,
        status: str | None = None,
        rule: str | None = None,
    ) -> list[Alert]:
        """The latest alerts, newest first, optionally filtered."""
        filters = [
            {"term": {field: value}}
            for field, value in (("subscriber", subscriber), ("status", status), ("rule_id", rule))
            if value
        ]
        self.es.indices.refresh(index=self.index)
        found = self.es.search(
            index=self.index,
            query={"bool": {"filter": filters}} if filters else {"match_all": {}},
            sort=[{"created_at": "desc"}],
            size=limit,
        )
        return [Alert.model_validate(hit["_source"]) for hit in found["hits"]["hits"]]
