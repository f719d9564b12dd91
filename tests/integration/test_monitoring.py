"""Monitoring on the real stack: scheduler, crawl worker, enrich worker and alerts worker as processes.

Alerts are received by a local webhook (http.server) and a local SMTP server (aiosmtpd), both on
127.0.0.1; the watched site is the fixture board.
"""

from __future__ import annotations

import email
import json
import os
import signal
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from email.policy import default as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from tests.conftest import vigil_executable
from tests.fixture_site import FixtureSite
from tests.helpers import FIRST_OUTPUT, free_port, group_caught_up, wait_for
from vigil.core.records import AdEvent

pytestmark = pytest.mark.integration

INTERVAL = 5.0
MAX_JITTER = 0.5
WATCHED_PHONE = "+44 7520 651234"
OBFUSCATED_PHONE = "07520\u2764651\u2764234"


@dataclass
class Received:
    at: float
    title: str
    body: str


@dataclass
class Webhook:
    """A JSON webhook on 127.0.0.1 collecting Apprise's json:// posts."""

    port: int = field(default_factory=free_port)
    posts: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                hook.posts.append(Received(time.time(), payload.get("title", ""), payload.get("message", "")))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"

    def about(self, text: str) -> list[Received]:
        return [p for p in self.posts if text in p.body]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Mailbox:
    """An SMTP server on 127.0.0.1 (aiosmtpd) that accepts any login, as an MTA for mailto:// URLs."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.port = free_port()
        self.messages: list[Received] = []
        box = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                message = email.message_from_bytes(envelope.content, policy=email_policy)
                part = message.get_body(preferencelist=("plain",))
                body = (part.get_content() if part is not None else "").replace("\r\n", "\n")
                box.messages.append(Received(time.time(), str(message["subject"]), body))
                return "250 OK"

        self.controller = Controller(
            Handler(),
            hostname="127.0.0.1",
            port=self.port,
            authenticator=lambda *args: AuthResult(success=True),
            auth_require_tls=False,
        )
        self.controller.start()

    def url(self, to: str = "ops@example.org") -> str:
        return f"mailto://user:pass@127.0.0.1:{self.port}/?to={to}"

    def about(self, text: str) -> list[Received]:
        return [m for m in self.messages if text in m.body]

    def close(self) -> None:
        self.controller.stop()


class Process:
    """One `vigil ...` process with the test's configuration; its log is a file printed on failure."""

    def __init__(self, vigil_env, name: str, *args: str):
        self.name = name
        self.log_path = Path(vigil_env.config_path).parent / f"{name}.log"
        self.log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [vigil_executable(), *args],
            env=vigil_env.env,
            cwd=vigil_env.cwd,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()

    def kill9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def tail(self, chars: int = 4000) -> str:
        return f"--- {self.name} ---\n" + self.log_path.read_text(errors="replace")[-chars:]


@pytest.fixture
def mailbox():
    box = Mailbox()
    yield box
    box.close()


def configure(vigil_env, tmp_path: Path, rules: dict | None = None, **sections) -> dict:
    """Give the test its own scheduler database, consumer groups, profiles folder and rules."""
    config = yaml.safe_load(vigil_env.config_path.read_text()) or {}
    uid = vigil_env.uid
    (tmp_path / "profiles").mkdir(exist_ok=True)
    config["profiles_dir"] = str(tmp_path / "profiles")
    config["scheduler"] = {
        "jobstore_url": f"sqlite:///{tmp_path / 'scheduler.sqlite'}",
        "lease_seconds": 3,
        "sync_seconds": 0.5,
        "max_jitter_seconds": MAX_JITTER,
    }
    config["jobs"] = {"group_id": f"test-{uid}-crawl", "attempts": 2, "backoff_seconds": 1}
    config["alerts"] = {
        "group_id": f"test-{uid}-alerts",
        "attempts": 3,
        "backoff_seconds": 0.5,
        "inbox": str(tmp_path / "inbox.jsonl"),
    }
    if rules is not None:
        (tmp_path / "alerts.yaml").write_text(yaml.safe_dump(rules, sort_keys=False))
        config["alerts_rules"] = str(tmp_path / "alerts.yaml")
    for key, value in sections.items():
        config.setdefault(key, {}).update(value)
    vigil_env.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    return config


def board_profile(site: FixtureSite) -> dict:
    """The board's escorts category only (7 ads over 2 listing pages), crawled without delays."""
    return {
        "id": "board",
        "start_urls": [f"{site.url}category/escorts"],
        "allowed_domains": ["127.0.0.1"],
        "country": "GB",
        "language": "en",
        "follow": [{"css": "a.next"}],
        "ads": {
            "url_regex": r"/ad/\d+$",
            "id_regex": r"/ad/(\d+)$",
            "fields": {"title": {"css": "h1"}, "body": {"css": ".description"}},
        },
        "allow_private_network": True,
        "limits": {"max_pages": 100, "max_depth": 5},
        "politeness": {"download_delay": 0, "concurrency": 8, "obey_robots": False, "autothrottle": False},
    }


def key(ad: dict) -> str:
    """The fixture board ad's key, which alerts name (not its URL: alerts carry no links)."""
    return f"Ad: board:{ad['id']}\n"


def jobs(settings, profile_id: str) -> list[dict]:
    from vigil.core.elastic import client

    es = client(settings.es)
    es.indices.refresh(index=settings.es.indices.jobs)
    found = es.search(
        index=settings.es.indices.jobs,
        query={"term": {"profile_id": profile_id}},
        sort=[{"requested_at": "asc"}],
        size=500,
    )
    return [hit["_source"] for hit in found["hits"]["hits"]]


def finished(settings, profile_id: str, **conditions) -> list[dict]:
    """Jobs that crawled to the end (not those skipped as superseded by a newer job)."""
    return [
        j
        for j in jobs(settings, profile_id)
        if j["state"] == "finished"
        and not j.get("message", "").startswith("superseded")
        and all(j.get(k) == v for k, v in conditions.items())
    ]


def history(vigil_env) -> list[dict]:
    result = vigil_env.run("alerts", "history", "--json", "--limit", "500")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


@pytest.mark.timeout(720)
def test_new_ad_alerts_end_to_end(vigil_env, tmp_path, processes, webhook, mailbox):
    """Watched board: the baseline raises nothing, re-crawls are incremental, a new ad is alerted once
    (webhook and e-mail) in time, an obfuscated watchlist phone fires its rule, a dead endpoint fails alone."""
    down = free_port()
    rules = {
        "rules": [
            {"id": "new-on-board", "when": {"new_ad": True, "profiles": ["board"]}},
            {
                "id": "watchlist",
                "when": {"entities": {"phone": [WATCHED_PHONE], "wallet": [], "email": [], "handle": []}},
            },
        ],
        "subscribers": [
            {
                "id": "ops",
                "urls": [mailbox.url(), webhook.url],
                "rules": ["new-on-board", "watchlist"],
                "digest": 0,
            },
            {"id": "down", "urls": [f"json://127.0.0.1:{down}/hook"], "rules": ["new-on-board"]},
        ],
    }
    configure(vigil_env, tmp_path, rules)
    settings = vigil_env.settings
    with FixtureSite(real_ads=False) as site:
        profile = tmp_path / "profiles" / "board.yaml"
        profile.write_text(yaml.safe_dump(board_profile(site), sort_keys=False))
        added = vigil_env.run("watch", "add", "board", "--every", f"{INTERVAL:g}s")
        assert added.returncode == 0, added.stderr

        uid = vigil_env.uid
        processes.append(Process(vigil_env, "enrich", "worker", "enrich", "--group", f"test-{uid}-enrich"))
        processes.append(Process(vigil_env, "alerts", "worker", "alerts"))
        processes.append(Process(vigil_env, "crawl", "worker", "crawl", "--slots", "2"))
        processes.append(Process(vigil_env, "scheduler", "scheduler"))

        def tails() -> str:
            return "\n".join(p.tail() for p in processes)

        assert wait_for(lambda: finished(settings, "board", baseline=True), timeout=FIRST_OUTPUT), tails()
        baseline = finished(settings, "board", baseline=True)[0]
        assert baseline["ads"] == 7 and baseline["pages"] >= 9, baseline

        assert wait_for(lambda: finished(settings, "board", baseline=False), timeout=60), tails()
        recrawl = finished(settings, "board", baseline=False)[0]
        print(f"baseline crawl: {baseline['pages']} pages; incremental re-crawl: {recrawl['pages']} pages")
        assert recrawl["new_ads"] == 0 and recrawl["pages"] <= 2, recrawl
        topics = settings.kafka.topics
        # The enrich worker loads the analysers first: seconds when idle, a minute or more on a loaded machine.
        assert wait_for(
            lambda: group_caught_up(settings, f"test-{uid}-enrich", topics.pages_raw)
            and group_caught_up(settings, f"test-{uid}-alerts", topics.ad_events),
            timeout=240,
        ), tails()
        assert not history(vigil_env), "the baseline claimed alerts"
        assert not webhook.posts and not mailbox.messages, "the baseline raised alerts"

        ad = site.add_ad(
            title="Fresh arrival in town",
            body="New here and only for a few days. Discreet, clean and friendly, incall and outcall, "
            "ask for Mia when you call the house.",
        )
        posted = time.time()
        assert wait_for(
            lambda: webhook.about(key(ad)) and mailbox.about(key(ad)), timeout=INTERVAL + 30
        ), tails()
        # Once every page and event so far is handled (committed), a second alert can only be a duplicate.
        assert wait_for(
            lambda: group_caught_up(settings, f"test-{uid}-enrich", topics.pages_raw)
            and group_caught_up(settings, f"test-{uid}-alerts", topics.ad_events),
            timeout=60,
        ), tails()
        hooks, mails = webhook.about(key(ad)), mailbox.about(key(ad))
        assert len(hooks) == 1 and len(mails) == 1, (hooks, mails)
        for received in (hooks[0], mails[0]):
            assert "new-on-board" in received.body and "new ad on board" in received.body
        alert = next(a for a in history(vigil_env) if a["subscriber"] == "ops" and a["url"] == ad["url"])
        job = next(j for j in jobs(settings, "board") if j["job_id"] == alert["job_id"])
        from datetime import datetime

        run_started = datetime.fromisoformat(job["requested_at"]).timestamp()
        arrived = max(hooks[0].at, mails[0].at)
        print(
            f"alert latency: {arrived - run_started:.2f}s from the run's start, "
            f"{arrived - posted:.2f}s from posting (interval {INTERVAL:g}s)"
        )
        assert arrived - posted <= INTERVAL + MAX_JITTER + 5, tails()

        flagged = site.add_ad(
            title="Massage and more",
            body=f"Relaxing massage and more in a private apartment near the station. Call me {OBFUSCATED_PHONE} "
            "day and night, no withheld numbers.",
        )
        assert wait_for(lambda: len(webhook.about(key(flagged))) >= 2, timeout=INTERVAL + 30), tails()
        watch_hit = [p for p in webhook.about(key(flagged)) if "Rule: watchlist" in p.body]
        assert len(watch_hit) == 1 and "+447520651234" in watch_hit[0].body, webhook.about(key(flagged))

        def down_failed() -> bool:
            return any(
                a["subscriber"] == "down" and a["url"] == ad["url"] and a["status"] == "failed"
                for a in history(vigil_env)
            )

        assert wait_for(down_failed, timeout=30), history(vigil_env)
        record = next(a for a in history(vigil_env) if a["subscriber"] == "down" and a["url"] == ad["url"])
        assert record["attempts"] == 3 and record["error"], record
        mine = [a for a in history(vigil_env) if a["subscriber"] == "ops"]
        assert all(a["status"] == "sent" for a in mine), mine
        inbox = [json.loads(line) for line in (tmp_path / "inbox.jsonl").read_text().splitlines()]
        assert {a["alert_id"] for a in inbox} == {a["alert_id"] for a in mine}


def produce(settings, *events: AdEvent) -> None:
    from vigil.core.kafka import producer

    client = producer(settings.kafka)
    try:
        for event in events:
            client.send(
                settings.kafka.topics.ad_events, key=event.ad_key.encode(), value=event.to_bytes()
            ).get(30)
    finally:
        client.close()


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


@pytest.mark.timeout(600)
def test_duplicate_events_alert_once_and_dead_endpoint_fails_alone(
    vigil_env, tmp_path, processes, webhook, request
):
    """Re-delivered and duplicate events alert once, also after a restart; a dead endpoint is retried
    then recorded as failed while the others get theirs; a digest subscriber gets one message."""
    down = free_port()
    metrics_port = free_port()
    digest_hook = Webhook()
    request.addfinalizer(digest_hook.close)
    rules = {
        "rules": [
            {"id": "high-risk", "when": {"min_risk": 70}},
            {"id": "keyword", "when": {"keywords": ["weekly roundup"]}},
        ],
        "subscribers": [
            {"id": "ops", "urls": [webhook.url], "rules": ["high-risk"]},
            {"id": "down", "urls": [f"json://127.0.0.1:{down}/hook"], "rules": ["high-risk"]},
            {"id": "weekly", "urls": [digest_hook.url], "rules": ["keyword"], "digest": 3},
        ],
    }
    configure(vigil_env, tmp_path, rules)
    config = yaml.safe_load(vigil_env.config_path.read_text())
    config["metrics_port"] = metrics_port
    vigil_env.config_path.write_text(yaml.safe_dump(config))
    event = AdEvent(
        event_type="ad.new", ad_key="site:1", profile_id="site", url="http://site.test/ad/1", risk=85
    )
    again = event.model_copy(update={"event_id": "another-delivery", "event_type": "ad.changed"})
    digested = [
        AdEvent(
            event_type="ad.new",
            ad_key=f"site:{n}",
            profile_id="site",
            url=f"http://site.test/ad/{n}",
            title="Weekly roundup",
        )
        for n in (2, 3)
    ]
    produce(vigil_env.settings, event, event, again, *digested)

    worker = Process(vigil_env, "alerts", "worker", "alerts")
    processes.append(worker)
    assert wait_for(lambda: webhook.posts, timeout=FIRST_OUTPUT), worker.tail()
    assert "Rule: high-risk" in webhook.posts[0].body and "risk 85 >= 70" in webhook.posts[0].body

    def failed() -> list[dict]:
        return [a for a in history(vigil_env) if a["subscriber"] == "down" and a["status"] == "failed"]

    assert wait_for(failed, timeout=30), worker.tail()
    record = failed()[0]
    assert record["attempts"] == 3 and "127.0.0.1" in record["error"], record
    assert 'vigil_alerts_failed_total{subscriber="down"} 1.0' in scrape(metrics_port)
    assert wait_for(lambda: digest_hook.posts, timeout=15), worker.tail()
    assert len(digest_hook.posts) == 1 and "2 alerts" in digest_hook.posts[0].title
    assert all(f"Ad: {e.ad_key}" in digest_hook.posts[0].body for e in digested)

    worker.stop()
    processes.remove(worker)
    produce(vigil_env.settings, event)
    restarted = Process(vigil_env, "alerts-again", "worker", "alerts")
    processes.append(restarted)
    topic, group = vigil_env.settings.kafka.topics.ad_events, config["alerts"]["group_id"]
    assert wait_for(lambda: group_caught_up(vigil_env.settings, group, topic), timeout=FIRST_OUTPUT), restarted.tail()
    assert "already alerted" in restarted.tail(), "the restarted worker read the repeated event"
    assert len(webhook.posts) == 1, [p.title for p in webhook.posts]
    ops = [a for a in history(vigil_env) if a["subscriber"] == "ops"]
    assert len(ops) == 1 and ops[0]["status"] == "sent" and ops[0]["delivered_at"], ops


def crawl_jobs(settings) -> list:
    """Every crawl job on the topic so far (read up to the end offsets of now), oldest first."""
    from kafka import TopicPartition

    from vigil.core.kafka import consumer
    from vigil.core.records import CrawlJob

    topic = settings.kafka.topics.crawl_jobs
    client = consumer(settings.kafka, None)
    try:
        partitions = [TopicPartition(topic, p) for p in client.partitions_for_topic(topic)]
        client.assign(partitions)
        client.seek_to_beginning(*partitions)
        ends = client.end_offsets(partitions)
        found = []
        while any(client.position(tp) < ends[tp] for tp in partitions):
            for records in client.poll(timeout_ms=500).values():
                found.extend(
                    CrawlJob.from_bytes(r.value)
                    for r in records
                    if r.offset < ends[TopicPartition(r.topic, r.partition)]
                )
        return sorted(found, key=lambda j: j.requested_at)
    finally:
        client.close()


@pytest.mark.timeout(480)
def test_scheduler_survives_kill_and_two_schedulers_publish_each_run_once(vigil_env, tmp_path, processes):
    configure(vigil_env, tmp_path)
    site = {
        "id": "quiet-board",
        "start_urls": ["http://127.0.0.1:9/"],
        "ads": {"url_regex": "/ad/", "id_regex": r"/ad/(\d+)"},
    }
    (tmp_path / "profiles" / "quiet-board.yaml").write_text(yaml.safe_dump(site))
    assert vigil_env.run("watch", "add", "quiet-board", "--every", "2s").returncode == 0

    first = Process(vigil_env, "scheduler-1", "scheduler")
    second = Process(vigil_env, "scheduler-2", "scheduler")
    processes.extend([first, second])
    assert wait_for(lambda: len(crawl_jobs(vigil_env.settings)) >= 4, timeout=FIRST_OUTPUT), first.tail() + second.tail()
    published = crawl_jobs(vigil_env.settings)
    assert published[0].baseline and not any(j.baseline for j in published[1:])
    assert all(j.incremental for j in published[1:])
    gaps = [
        (b.requested_at - a.requested_at).total_seconds()
        for a, b in zip(published, published[1:], strict=False)
    ]
    assert min(gaps) > 1.0, f"two schedulers published one run twice: gaps {gaps}"

    holder = lease_holder(tmp_path / "scheduler.sqlite")
    leader = next(p for p in (first, second) if f":{p.process.pid}:" in holder)
    leader.kill9()
    listed = vigil_env.run("watch", "list", "--json")
    assert json.loads(listed.stdout.splitlines()[0])["watch_id"] == "quiet-board"
    processes.append(Process(vigil_env, "scheduler-3", "scheduler"))
    before = len(crawl_jobs(vigil_env.settings))
    assert wait_for(lambda: len(crawl_jobs(vigil_env.settings)) >= before + 2, timeout=40), (
        "runs did not continue after the leader was killed"
    )
    assert f":{leader.process.pid}:" not in lease_holder(tmp_path / "scheduler.sqlite")
    after = crawl_jobs(vigil_env.settings)
    assert len({j.job_id for j in after}) == len(after)

    assert vigil_env.run("watch", "pause", "quiet-board").returncode == 0

    def state() -> dict:
        return json.loads(vigil_env.run("watch", "list", "--json").stdout.splitlines()[0])

    assert wait_for(lambda: state()["paused"], timeout=10)
    # A run already under way when the pause landed may still publish; after that, nothing.
    time.sleep(3 * MAX_JITTER + 2)
    paused_at = len(crawl_jobs(vigil_env.settings))
    time.sleep(4)
    assert len(crawl_jobs(vigil_env.settings)) == paused_at, "a paused watch published a run"
    assert state()["runs"] == paused_at


def lease_holder(database: Path) -> str:
    """The scheduler leadership lease's current holder (``host:pid:random``), from its database."""
    from sqlalchemy import create_engine, select

    from scheduler.lease import leases_table

    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as conn:
            return conn.execute(select(leases_table.c.holder)).scalar_one()
    finally:
        engine.dispose()


@pytest.mark.timeout(420)
def test_a_crawl_that_cannot_run_is_recorded_as_failed(vigil_env, tmp_path, processes):
    """An unknown profile, or a job naming a file outside the profiles directory: no retry can
    help, the job is failed at once (no crawl process is spawned for it) with a clear message, and
    nothing outside is ever loaded."""
    from vigil.core.kafka import producer
    from vigil.core.records import CrawlJob

    configure(vigil_env, tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "evil.yaml").write_text(yaml.safe_dump({"id": "evil", "start_urls": ["http://127.0.0.1:9/"],
                                                      "ads": {"url_regex": "/ad/"}}))
    wanted = {
        "no-such-profile": CrawlJob(profile_id="no-such-profile", reason="test"),
        "evil": CrawlJob(profile_id="evil", profile_path=str(outside / "evil.yaml"), reason="test"),
        "dotdot": CrawlJob(profile_id="dotdot", profile_path="../outside/evil.yaml", reason="test"),
    }
    client = producer(vigil_env.settings.kafka)
    for key, job in wanted.items():
        client.send(vigil_env.settings.kafka.topics.crawl_jobs, key=key.encode(), value=job.to_bytes()).get(30)
    client.close()
    worker = Process(vigil_env, "crawl", "worker", "crawl")
    processes.append(worker)

    def failed(profile_id: str) -> list[dict]:
        return [j for j in jobs(vigil_env.settings, profile_id) if j["state"] == "failed"]

    assert wait_for(lambda: all(failed(key) for key in wanted), timeout=FIRST_OUTPUT), worker.tail()
    for key, job in wanted.items():
        record = failed(key)[0]
        assert record["job_id"] == job.job_id and record["attempt"] == 1, record
    assert "no profile with id 'no-such-profile'" in failed("no-such-profile")[0]["message"]
    for key in ("evil", "dotdot"):
        assert "only name profile files inside the profiles directory" in failed(key)[0]["message"]
    assert "127.0.0.1:9" not in worker.log_path.read_text()


@pytest.mark.timeout(240)
def test_crawl_counters_and_tor_gauges_reach_the_crawl_workers_metrics(vigil_env, tmp_path, processes):
    """Counters a crawl increments in the worker's child process (pages fetched, by profile and
    network) are served on the crawl worker's own /metrics, and its periodic check keeps a Tor
    gauge for every configured instance, reachable or not."""
    from prometheus_client.parser import text_string_to_metric_families

    from vigil.core.kafka import producer
    from vigil.core.records import CrawlJob
    from vigil.core.tor.control import instance_name

    config = configure(vigil_env, tmp_path, tor={"health_interval_seconds": 1})
    metrics_port = free_port()
    config["metrics_port"] = metrics_port
    vigil_env.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    settings = vigil_env.settings
    with FixtureSite(real_ads=False) as site:
        (tmp_path / "profiles" / "board.yaml").write_text(yaml.safe_dump(board_profile(site), sort_keys=False))
        client = producer(settings.kafka)
        job = CrawlJob(profile_id="board", reason="test")
        client.send(settings.kafka.topics.crawl_jobs, key=b"board", value=job.to_bytes()).get(30)
        client.close()
        worker = Process(vigil_env, "crawl", "worker", "crawl")
        processes.append(worker)
        assert wait_for(lambda: finished(settings, "board"), timeout=150), worker.tail()
    pages = finished(settings, "board")[0]["pages"]
    assert pages >= 9

    def fetched() -> float | None:
        for family in text_string_to_metric_families(scrape(metrics_port)):
            for sample in family.samples:
                if sample.name == "vigil_pages_fetched_total" and sample.labels.get("profile") == "board":
                    assert sample.labels["network"] == "clearnet", sample
                    return sample.value
        return None

    assert wait_for(lambda: fetched() == pages, timeout=30), (pages, fetched(), worker.tail())
    gauges = scrape(metrics_port)
    for instance in settings.tor.instances:
        assert f'vigil_tor_bootstrap_percent{{instance="{instance_name(instance)}"}}' in gauges
