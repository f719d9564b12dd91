"""The alerts worker: ad events in, alerts out, each (subscriber, ad, rule) at most once.

Per event: evaluate the rules, render each alert as inert text at its subscriber's content level
(scheduler/alert_format.py), claim it in vigil-alerts (create-only document: the dedupe), then
hand it to the subscriber's outbox (scheduler/outbox.py) and commit the event's offset. Digest
subscribers' alerts wait in vigil-alerts as ``pending`` and go out together once per window,
which also carries them over a restart.

Baseline: a new-ad rule ignores an ``ad.new`` whose event says ``baseline`` or whose crawl job
is recorded as a baseline job in vigil-jobs (written by the crawl worker before the crawl
starts), so the design holds whichever way the flag travels. Other rules still fire.

A worker killed after claiming an alert leaves it ``pending`` (the sweeper of the next worker
sends it) or ``sending`` (failed as "outcome unknown", never resent on its own): see
scheduler/alert_store.py.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import structlog
from pydantic import ValidationError

from scheduler.alert_format import render, vigil_link
from scheduler.alert_store import Alert, AlertStore, alert_id
from scheduler.delivery import Delivery, mask
from scheduler.outbox import Inbox, Outbox, Sweeper, instance_id
from scheduler.rules import AlertsConfig, Match, RulesError, evaluate, load_rules, rules_path
from vigil.core.config import Settings
from vigil.core.consumer import subscribe_when_ready
from vigil.core.kafka import report_lag
from vigil.core.records import AdEvent, doc_id

log = structlog.get_logger("vigil.alerts")

BACKOFF_START = 1.0
BACKOFF_MAX = 30.0


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


def describe(match: Match, event: AdEvent, link: str) -> tuple[str, str]:
    """The alert's title and plain-text body at the subscriber's content level (inert text)."""
    rule = match.rule
    return render(
        content=match.subscriber.content,
        rule_id=rule.id,
        rule_description=rule.description,
        ad_key=event.ad_key,
        link=link,
        escalated=event.escalate,
        profile_id=event.profile_id,
        network=event.network,
        country=event.country,
        risk=event.risk,
        indicators=event.indicators,
        evidence=match.evidence,
        event_type=event.event_type,
        occurred_at=event.occurred_at,
        ad_title=event.title,
        ad_url=event.url,
    )


class AlertsWorker:
    def __init__(self, settings: Settings, config: AlertsConfig, *, group: str | None = None):
        self.settings = settings
        self.config = config
        self.group = group or settings.alerts.group_id
        self.topic = settings.kafka.topics.ad_events
        self.stopping = threading.Event()
        self.outboxes_stop = threading.Event()

    def stop(self, *_: Any) -> None:
        if not self.stopping.is_set():
            log.info("stop requested: finishing the claimed alerts")
        self.stopping.set()

    def run(self) -> int:
        from vigil.core import kafka
        from vigil.core.elastic import client

        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        cfg = self.settings.alerts
        self.es = client(self.settings.es)
        self.store = AlertStore(self.es, self.settings.es.indices.alerts)
        self.context = ElasticContext(self.es, self.settings)
        inbox = Inbox(cfg.inbox)
        owner = instance_id()
        self.outboxes = {
            s.id: Outbox(
                s,
                self.store,
                Delivery(cfg.attempts, cfg.backoff_seconds, cfg.mail_from, self.outboxes_stop),
                inbox,
                self.outboxes_stop,
                owner=owner,
            )
            for s in self.config.subscribers
        }
        sweeper = Sweeper(self.store, self.outboxes, cfg, self.outboxes_stop)
        for outbox in self.outboxes.values():
            outbox.start()
        sweeper.start()
        self.consumer = kafka.consumer(self.settings.kafka, self.group, max_poll_records=100)
        if not subscribe_when_ready(self.consumer, self.topic, self.stopping):
            self.consumer.close(autocommit=False)
            self.outboxes_stop.set()
            return 0
        log.info(
            "alerts worker started",
            topic=self.topic,
            group=self.group,
            rules=[r.id for r in self.config.rules],
            subscribers={s.id: [mask(u) for u in s.targets()] for s in self.config.subscribers},
        )
        lag_at = 0.0
        try:
            while not self.stopping.is_set():
                polled = self.consumer.poll(timeout_ms=200)
                for records in polled.values():
                    for record in records:
                        if not self._retrying(lambda r=record: self.handle(r.value)):
                            return 0
                    self._commit(records)
                if time.monotonic() - lag_at > 10:
                    lag_at = time.monotonic()
                    self._report_lag()
        finally:
            self.consumer.close(autocommit=False)
            self.outboxes_stop.set()
            for outbox in self.outboxes.values():
                outbox.join()
            log.info("alerts worker stopped")
        return 0

    def handle(self, value: bytes) -> list[Alert]:
        """Claim and enqueue the alerts one event fires; returns those newly claimed."""
        try:
            event = AdEvent.from_bytes(value)
        except ValidationError as exc:
            log.error("unreadable ad event skipped", error=str(exc)[:500])
            return []
        claimed = []
        for match in evaluate(self.config, event, self.context):
            key = alert_id(match.subscriber.id, event.ad_key, match.rule.id)
            title, message = describe(
                match, event, vigil_link(self.settings.alerts.link_template, key, event.ad_key)
            )
            alert = Alert(
                alert_id=key,
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
                content="minimal" if event.escalate else match.subscriber.content,
                escalated=event.escalate,
                targets=[mask(u) for u in match.subscriber.targets()],
                digest=bool(match.subscriber.digest),
                status="pending",
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

    def _retrying(self, step) -> bool:
        """Run ``step`` until Elasticsearch answers; False if stopped first (nothing committed).

        Elasticsearch errors are retried with backoff; any other error is a bug with this event:
        logged with its traceback and the event skipped, so one bad event cannot stall the rest.
        """
        from elasticsearch import ApiError, TransportError

        delay = BACKOFF_START
        while True:
            try:
                step()
                return True
            except (ApiError, TransportError) as exc:
                log.error(
                    "event not processed; retrying",
                    error=f"{type(exc).__name__}: {exc}"[:500],
                    retry_in=delay,
                )
            except Exception:
                log.exception("event skipped: it made the worker fail")
                return True
            if self._wait(delay):
                return False
            delay = min(delay * 2, BACKOFF_MAX)

    def _wait(self, seconds: float) -> bool:
        """Sleep while polling paused partitions (so the group keeps us); True if stopped."""
        deadline = time.monotonic() + seconds
        while not self.stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.consumer.pause(*self.consumer.assignment())
            for tp, batch in self.consumer.poll(timeout_ms=int(min(remaining, 0.5) * 1000)).items():
                self.consumer.seek(tp, batch[0].offset)
        return True

    def _commit(self, records) -> None:
        from kafka import TopicPartition
        from kafka.errors import KafkaError
        from kafka.structs import OffsetAndMetadata

        self.consumer.resume(*self.consumer.paused())
        last = records[-1]
        tp = TopicPartition(last.topic, last.partition)
        try:
            self.consumer.commit({tp: OffsetAndMetadata(last.offset + 1, "", -1)})
        except KafkaError as exc:
            log.warning("commit refused; re-delivered events are deduplicated", error=str(exc))

    def _report_lag(self) -> None:
        report_lag(self.consumer, self.group, self.topic)


def run_alerts_worker(settings: Settings, rules: Path | None) -> int:
    """Load the rules (exit 2 naming the problem if invalid), then run the worker."""
    path = rules_path(rules, settings.alerts_rules or settings.alerts.rules)
    try:
        config = load_rules(path, require_env=True)
    except RulesError as exc:
        log.error("invalid alert rules", error=str(exc))
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return AlertsWorker(settings, config).run()
