"""The alerts worker: ad events in, alerts out, each (subscriber, ad, rule) at most once.

Per event: evaluate the rules, claim each alert in vigil-alerts (create-only document: the
dedupe), then hand it to the subscriber's outbox and commit the event's offset. Each subscriber
has its own outbox thread, so a dead endpoint being retried never delays anyone else. Digest
subscribers' alerts wait in vigil-alerts as ``queued`` and go out together once per window,
which also carries them over a restart.

Baseline: a new-ad rule ignores an ``ad.new`` whose event says ``baseline`` or whose crawl job
is recorded as a baseline job in vigil-jobs (written by the crawl worker before the crawl
starts), so the design holds whichever way the flag travels. Other rules still fire.

At-most-once has one price: a worker killed between claiming an alert and sending it leaves
it ``pending`` in the history, unsent, rather than risking a second message.
"""

from __future__ import annotations

import json
import queue
import sys
import threading
from collections import OrderedDict
from pathlib import Path

import structlog
from pydantic import ValidationError

from scheduler.alert_store import Alert, AlertStore, alert_id
from scheduler.delivery import Delivery, mask
from scheduler.rules import AlertsConfig, Match, RulesError, evaluate, load_rules, rules_path
from vigil.core.config import Settings
from vigil.core.consumer import Batch, ConsumerLoop, Handler
from vigil.core.metrics import ALERTS_FAILED, ALERTS_SENT
from vigil.core.records import AdEvent, doc_id, utcnow

log = structlog.get_logger("vigil.alerts")


class ElasticContext:
    """Answers the rules' questions from Elasticsearch: baseline jobs, entity spread."""

    def __init__(self, es, settings: Settings):
        self.es = es
        self.jobs_index = settings.es.indices.jobs
        self.entities_index = settings.es.indices.entities
        self._baseline: OrderedDict[str, bool] = OrderedDict()

    def is_baseline(self, event: AdEvent) -> bool:
        if event.baseline:
            return True
        if not event.job_id:
            return False
        if event.job_id not in self._baseline:
            self._baseline[event.job_id] = job_is_baseline(self.es, self.jobs_index, event.job_id)
            while len(self._baseline) > 1000:
                self._baseline.popitem(last=False)
        return self._baseline[event.job_id]

    def spread(self, entity_type: str, value: str) -> tuple[list[str], list[str]]:
        found = self.es.mget(index=self.entities_index, ids=[doc_id(f"{entity_type}:{value}")])
        for doc in found["docs"]:
            if doc.get("found"):
                source = doc["_source"]
                return list(source.get("sites") or []), list(source.get("countries") or [])
        return [], []


def job_is_baseline(es, index: str, job_id: str) -> bool:
    """Whether vigil-jobs records ``job_id`` as a baseline job (a realtime GET: no refresh needed)."""
    from elasticsearch import NotFoundError

    try:
        found = es.get(index=index, id=job_id, source_includes=["baseline", "reason"])
    except NotFoundError:
        return False
    source = found.get("_source") or {}
    return bool(source.get("baseline"))


def compose(alerts: list[Alert]) -> tuple[str, str]:
    """(title, body) of a message for one alert, or a digest of several."""
    if len(alerts) == 1:
        return alerts[0].title, alerts[0].message
    title = f"[Vigil] {len(alerts)} alerts for {alerts[0].subscriber}"
    body = "\n\n---\n\n".join(alert.message for alert in alerts)
    return title, body


def describe(match: Match, event: AdEvent) -> tuple[str, str]:
    """The alert's title and body: the ad URL, the rule and the evidence, first."""
    rule = match.rule
    title = f"[Vigil] {rule.id}: {event.title or event.url}"[:200]
    lines = [
        f"Rule: {rule.id}" + (f" - {rule.description}" if rule.description else ""),
        f"Ad: {event.url}",
        f"Title: {event.title}" if event.title else "",
        f"Site: {event.profile_id} ({event.network}{', ' + event.country if event.country else ''})",
        f"Risk: {event.risk}" + (" (escalated)" if event.escalate else ""),
        f"Indicators: {', '.join(event.indicators)}" if event.indicators else "",
        "Evidence:",
        *[f"- {line}" for line in match.evidence],
        f"Event: {event.event_type} {event.ad_key} at {event.occurred_at.isoformat(timespec='seconds')}",
    ]
    return title, "\n".join(line for line in lines if line)


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
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")


class Outbox(threading.Thread):
    """One subscriber's deliveries: immediately from a queue, or as a digest once per window."""

    def __init__(
        self, subscriber, store: AlertStore, delivery: Delivery, inbox: Inbox, stop: threading.Event
    ):
        super().__init__(name=f"outbox-{subscriber.id}", daemon=True)
        self.subscriber = subscriber
        self.store = store
        self.delivery = delivery
        self.inbox = inbox
        self.stop = stop
        self.queue: queue.Queue[Alert] = queue.Queue()

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
                continue
            self._deliver([alert])

    def _digests(self) -> None:
        while not self.stop.wait(self.subscriber.digest):
            self._send_digest()
        self._send_digest()

    def _send_digest(self) -> None:
        try:
            waiting = self.store.queued(self.subscriber.id)
        except Exception as exc:  # noqa: BLE001 - the queued alerts stay queued for the next window
            log.error("digest not read; retried next window", subscriber=self.subscriber.id, error=str(exc))
            return
        if waiting:
            self._deliver(waiting)

    def _deliver(self, alerts: list[Alert]) -> None:
        title, body = compose(alerts)
        result = self.delivery.send(self.subscriber.targets(), title, body)
        now = utcnow()
        for alert in alerts:
            try:
                if result.ok:
                    self.store.update(
                        alert, status="delivered", attempts=result.attempts, delivered_at=now, error=None
                    )
                else:
                    self.store.update(alert, status="failed", attempts=result.attempts, error=result.error)
            except Exception as exc:  # noqa: BLE001 - the alert was (not) sent either way; say so
                log.error(
                    "alert outcome not recorded", alert_id=alert.alert_id, delivered=result.ok, error=str(exc)
                )
            if result.ok:
                ALERTS_SENT.labels(subscriber=alert.subscriber, rule=alert.rule_id).inc()
                self.inbox.write(alert)
            else:
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
                error=result.error,
            )


class AlertsHandler(Handler):
    name = "alerts"

    def __init__(self, settings: Settings, config: AlertsConfig):
        self.settings = settings
        self.config = config
        self.outboxes_stop = threading.Event()
        self.outboxes: dict[str, Outbox] = {}

    def start(self, loop: ConsumerLoop) -> None:
        from vigil.core.elastic import client

        cfg = self.settings.alerts
        self.es = client(self.settings.es)
        self.store = AlertStore(self.es, self.settings.es.indices.alerts)
        self.context = ElasticContext(self.es, self.settings)
        inbox = Inbox(cfg.inbox)
        self.outboxes = {
            s.id: Outbox(
                s,
                self.store,
                Delivery(cfg.attempts, cfg.backoff_seconds, cfg.mail_from, self.outboxes_stop),
                inbox,
                self.outboxes_stop,
            )
            for s in self.config.subscribers
        }
        for outbox in self.outboxes.values():
            outbox.start()
        log.info(
            "alerts worker started",
            rules=[r.id for r in self.config.rules],
            subscribers={s.id: [mask(u) for u in s.urls] for s in self.config.subscribers},
        )

    def handle(self, batch: Batch) -> None:
        """Claim and enqueue the alerts each event fires; Elasticsearch errors fail the batch (the
        loop retries it: claims are create-only, so a retried event alerts nobody twice)."""
        for record in batch.records:
            try:
                event = AdEvent.from_bytes(record.value or b"")
            except ValidationError as exc:
                batch.dead_letter(record, "schema", str(exc))
                continue
            self.handle_event(event)

    def close(self) -> None:
        self.outboxes_stop.set()
        for outbox in self.outboxes.values():
            outbox.join()

    def handle_event(self, event: AdEvent) -> list[Alert]:
        """Claim and enqueue the alerts one event fires; returns those newly claimed."""
        claimed = []
        for match in evaluate(self.config, event, self.context):
            title, message = describe(match, event)
            alert = Alert(
                alert_id=alert_id(match.subscriber.id, event.ad_key, match.rule.id),
                subscriber=match.subscriber.id,
                rule_id=match.rule.id,
                ad_key=event.ad_key,
                url=event.url,
                profile_id=event.profile_id,
                job_id=event.job_id,
                event_id=event.event_id,
                event_type=event.event_type,
                evidence=match.evidence,
                title=title,
                message=message,
                targets=[mask(u) for u in match.subscriber.urls],
                digest=bool(match.subscriber.digest),
                status="queued" if match.subscriber.digest else "pending",
            )
            if not self.store.claim(alert):
                log.info(
                    "already alerted", subscriber=alert.subscriber, rule=alert.rule_id, ad_key=alert.ad_key
                )
                continue
            claimed.append(alert)
            if not match.subscriber.digest:
                self.outboxes[alert.subscriber].put(alert)
        return claimed


def run_alerts_worker(settings: Settings, rules: Path | None) -> int:
    """Load the rules (exit 2 naming the problem if invalid), then run the worker."""
    path = rules_path(rules, settings.alerts_rules or settings.alerts.rules)
    try:
        config = load_rules(path, require_env=True)
    except RulesError as exc:
        log.error("invalid alert rules", error=str(exc))
        print(f"error: {exc}", file=sys.stderr)
        return 2
    handler = AlertsHandler(settings, config)
    return ConsumerLoop(
        settings, handler, group=settings.alerts.group_id, topic=settings.kafka.topics.ad_events, batch_size=100
    ).run()
