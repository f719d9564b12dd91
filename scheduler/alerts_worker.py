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

import sys
import threading
from collections import OrderedDict
from pathlib import Path

import structlog
from pydantic import ValidationError

from scheduler.alert_format import neutralise, render, vigil_link
from scheduler.alert_store import Alert, AlertStore, alert_id
from scheduler.delivery import Delivery, mask
from scheduler.outbox import Inbox, Outbox, Sweeper, instance_id
from scheduler.rules import AlertsConfig, Match, RulesError, evaluate, load_rules, rules_path
from vigil.core.config import Settings
from vigil.core.consumer import Batch, ConsumerLoop, Handler
from vigil.core.records import AdEvent, NetworkEvent, doc_id, is_network_event

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


def parse_event(value: bytes) -> AdEvent | NetworkEvent:
    """An ad event, or a network event (``network.*``) from the network worker."""
    return NetworkEvent.from_bytes(value) if is_network_event(value) else AdEvent.from_bytes(value)


def dedupe_key(event: AdEvent | NetworkEvent) -> str:
    """What an alert is about: the ad, or the network's growth step or new countries."""
    if isinstance(event, NetworkEvent):
        detail = ",".join(event.new_countries) if event.event_type == "network.new_country" else str(event.size)
        return f"{event.network_id}|{event.event_type}|{detail}"
    return event.ad_key


def describe(match: Match, event: AdEvent | NetworkEvent, link: str) -> tuple[str, str]:
    """The alert's title and plain-text body at the subscriber's content level (inert text)."""
    rule = match.rule
    if isinstance(event, NetworkEvent):
        return describe_network(match, event, link)
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
        changes=[change.describe() for change in event.changes],
        text_diff=event.text_diff,
    )


def describe_network(match: Match, event: NetworkEvent, link: str) -> tuple[str, str]:
    """A network's growth in words: ids, counts and country codes only, every value neutralised."""
    rule = match.rule
    network_id = neutralise(event.network_id, 100)
    title = f"[Vigil] {rule.id}: network {network_id} {event.event_type.removeprefix('network.')}"
    countries = ", ".join(neutralise(c, 8) for c in event.countries)
    lines = [
        f"Rule: {rule.id}" + (f" - {rule.description}" if rule.description else ""),
        f"Network: {network_id}: {event.size} ads on {len(event.sites)} sites in {len(event.countries)} "
        f"countries ({countries})",
        f"Latest ad: {neutralise(event.ad_key, 200)}",
    ]
    if match.subscriber.content != "minimal":
        lines += ["Evidence:", *[f"- {neutralise(line)}" for line in match.evidence[:20]]]
    lines += [f"Details: vigil network {network_id}", f"Open in Vigil: {link}"]
    return title[:200], "\n".join(lines)


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
        log.info(
            "alerts worker started",
            rules=[r.id for r in self.config.rules],
            subscribers={s.id: [mask(u) for u in s.targets()] for s in self.config.subscribers},
        )

    def handle(self, batch: Batch) -> None:
        """Claim and enqueue the alerts each event fires; Elasticsearch errors fail the batch (the
        loop retries it: claims are create-only, so a retried event alerts nobody twice)."""
        for record in batch.records:
            try:
                event = parse_event(record.value or b"")
            except ValidationError as exc:
                batch.dead_letter(record, "schema", str(exc))
                continue
            self.handle_event(event)

    def close(self) -> None:
        self.outboxes_stop.set()
        for outbox in self.outboxes.values():
            outbox.join()

    def handle_event(self, event: AdEvent | NetworkEvent) -> list[Alert]:
        """Claim and enqueue the alerts one event fires; returns those newly claimed."""
        claimed = []
        for match in evaluate(self.config, event, self.context):
            key = alert_id(match.subscriber.id, dedupe_key(event), match.rule.id)
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
                job_id=getattr(event, "job_id", None),
                event_id=event.event_id,
                event_type=event.event_type,
                evidence=match.evidence,
                title=title,
                message=message,
                content="minimal" if getattr(event, "escalate", False) else match.subscriber.content,
                escalated=getattr(event, "escalate", False),
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
