"""Networks on the real stack: enrich workers publish link records, `vigil worker networks` links
ads, the alerts worker turns network events into alerts (real Kafka, real Elasticsearch).

* a network grows from one site in Germany to a site in the Netherlands and raises exactly one
  ``network.new_country`` alert, delivered to a local webhook;
* the synthetic corpus of eval/ gives the same network ids with one enrich worker and with two
  enrich workers replaying the same raw topic into fresh indices.
"""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from eval.synthetic_networks import generate
from tests.conftest import vigil_executable
from tests.helpers import wait_for
from vigil.core.records import RawPage

pytestmark = pytest.mark.integration

EPOCH = datetime(2026, 11, 1, tzinfo=UTC)
HTML = """<!doctype html><html><head><title>{title}</title></head><body>
<div class="ad"><h1 class="title">{title}</h1><div class="body">{body}</div></div></body></html>"""


def page(site: str, country: str, ad_id: str, title: str, body: str, day: int) -> RawPage:
    html = HTML.format(title=title, body=body)
    url = f"http://{site}.example/ads/{ad_id}.html"
    return RawPage(
        profile_id=site, job_id="job-n", url=url, canonical_url=url, final_url=url, status=200,
        content_type="text/html; charset=utf-8", page_type="ad", ad_id=ad_id, country=country,
        fields={"title": title}, body=html, body_sha256=hashlib.sha256(html.encode()).hexdigest(),
        body_bytes=len(html), fetched_at=EPOCH + timedelta(days=day, minutes=int(ad_id.split("-")[-1] or 0)),
    )  # fmt: skip


class Procs:
    """`vigil worker ...` subprocesses with their logs; all stopped at the end of the test."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.started: list[tuple[subprocess.Popen, Path]] = []

    def start(self, env: dict[str, str], *args: str) -> subprocess.Popen:
        log = self.tmp_path / f"{args[1]}-{len(self.started)}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen([vigil_executable(), *args], env=env, stdout=out, stderr=out)
        self.started.append((proc, log))
        return proc

    def logs(self) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for _, log in self.started
        )

    def wait_started(self, timeout: float = 400) -> None:
        """Every worker is consuming (loading the analysers takes minutes on a loaded machine,
        which must not eat the time the linking itself is given)."""
        assert wait_for(
            lambda: all("consumer started" in log.read_text(errors="replace") for _, log in self.started),
            timeout=timeout,
            interval=1,
        ), self.logs()

    def stop(self) -> None:
        for proc, _ in self.started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc, _ in self.started:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def procs(tmp_path):
    running = Procs(tmp_path)
    yield running
    running.stop()
    print(running.logs())


class Hook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        Hook.received.append(json.loads(self.rfile.read(length) or b"{}"))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def send(settings, pages: list[RawPage]) -> None:
    from vigil.core import kafka

    producer = kafka.producer(settings.kafka)
    for p in pages:
        producer.send(settings.kafka.topics.pages_raw, key=p.canonical_url.encode(), value=p.to_bytes())
    producer.flush()
    producer.close()


def caught_up(settings, group: str, topic: str) -> bool:
    """The group committed every record of the topic (and the topic has some)."""
    from kafka import TopicPartition

    from vigil.core import kafka

    reader = kafka.consumer(settings.kafka, group)
    try:
        tps = [TopicPartition(topic, p) for p in reader.partitions_for_topic(topic) or ()]
        ends = reader.end_offsets(tps)
        return sum(ends.values()) > 0 and all((reader.committed(tp) or 0) == ends[tp] for tp in tps)
    finally:
        reader.close()


def ad_networks(es, alias: str) -> dict[str, str | None]:
    from elasticsearch import NotFoundError

    try:
        es.indices.refresh(index=alias)
    except NotFoundError:
        return {}  # no ad written yet
    hits = es.search(index=alias, size=10000, source=["ad_key", "network_id"])["hits"]["hits"]
    return {h["_source"]["ad_key"]: h["_source"].get("network_id") for h in hits}


def network_docs(es, alias: str) -> dict[str, dict]:
    es.indices.refresh(index=alias)
    return {h["_id"]: h["_source"] for h in es.search(index=alias, size=1000)["hits"]["hits"]}


def test_network_grows_across_sites_and_countries_and_alerts_once(vigil_env, procs, tmp_path):
    from vigil.core.elastic import client

    settings = vigil_env.settings
    Hook.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    rules = tmp_path / "alerts.yaml"
    rules.write_text(
        yaml.safe_dump(
            {
                "rules": [{"id": "crossing", "when": {"network_events": ["network.new_country"]}}],
                "subscribers": [
                    {
                        "id": "desk",
                        "urls": [f"json://127.0.0.1:{server.server_port}/hook"],
                        "rules": ["crossing"],
                    }
                ],
            }
        )
    )
    es = client(settings.es)
    try:
        procs.start(vigil_env.env, "worker", "enrich", "--group", "n-enrich")
        procs.start(vigil_env.env, "worker", "networks")
        procs.start(vigil_env.env, "worker", "alerts", "--rules", str(rules))
        procs.wait_started()
        phone = "Ruf an: 0151 2345 6789, nur SMS"
        send(settings, [
            page("board-de", "DE", "de-1", "Lena 23 neu in Berlin",
                 f"Hallo ich bin Lena, neu in der Stadt und sehr diskret. {phone}", 0),
            page("board-de", "DE", "de-2", "Mia 21 Hamburg",
                 f"Mia aus Hamburg, Hausbesuche und Hotel, ganz privat. {phone}", 1),
        ])  # fmt: skip
        ads = settings.es.indices.ads

        def one_network(size: int) -> bool:
            found = ad_networks(es, ads)
            return len(found) == size and len(set(found.values())) == 1 and None not in found.values()

        assert wait_for(lambda: one_network(2), timeout=150, interval=1), procs.logs()
        (nid,) = set(ad_networks(es, ads).values())
        send(settings, [
            page("board-nl", "NL", "nl-3", "Nieuw in Amsterdam",
                 "Nieuw in Amsterdam, bel of sms +49 151 23456789 voor een afspraak.", 2),
        ])  # fmt: skip
        assert wait_for(lambda: one_network(3), timeout=90, interval=1), procs.logs()
        assert set(ad_networks(es, ads).values()) == {nid}, "the network kept its id as it grew"

        network = network_docs(es, settings.es.indices.networks)[nid]
        assert network["size"] == 3 and network["countries"] == ["DE", "NL"] and network["cross_border"]
        assert network["sites"] == ["board-de", "board-nl"]
        assert network["entities"] == ["phone:+4915123456789"]
        assert [h["size"] for h in network["size_history"]] == [2, 3]
        assert all("phone:+4915123456789" in link["reason"] for link in network["links"])

        assert wait_for(lambda: len(Hook.received) >= 1, timeout=60, interval=0.5), procs.logs()
        wait_for(lambda: len(Hook.received) > 1, timeout=5)
        assert len(Hook.received) == 1, Hook.received
        assert "new country NL" in Hook.received[0]["message"] and nid in Hook.received[0]["message"]

        from vigil.core import kafka

        reader = kafka.consumer(
            settings.kafka, None, settings.kafka.topics.ad_events, consumer_timeout_ms=3000
        )
        kinds = [json.loads(m.value)["event_type"] for m in reader]
        reader.close()
        assert kinds.count("network.new_country") == 1 and kinds.count("network.grew") == 2, kinds

        shown = vigil_env.run("network", nid)
        assert shown.returncode == 0, shown.stderr
        assert "board-nl" in shown.stdout and "+4915123456789" in shown.stdout
        for part in ("size over time", "links and their evidence", "DE, NL", "shares phone:+4915123456789"):
            assert part in shown.stdout, (part, shown.stdout)
        by_value = vigil_env.run("network", "0151 2345 6789", "--region", "DE", "--json")
        assert json.loads(by_value.stdout)["network_id"] == nid
    finally:
        server.shutdown()
        es.close()


def assigned(log: Path) -> list[int]:
    """The partitions a worker holds after its latest rebalance, from its JSON log."""
    held: list[int] = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{") and '"partitions assigned"' in line:
            held = json.loads(line).get("partitions", [])
    return held


def corpus_pages() -> list[RawPage]:
    corpus = generate(seed=5, networks=8, unrelated=30)
    return [
        page(ad.profile_id, ad.country, ad.ad_key.split(":")[1], ad.title, ad.text, ad.day)
        for ad in corpus.ads
    ]


def test_two_enrich_workers_and_a_replay_give_the_same_network_ids(vigil_env, procs, tmp_path):
    from vigil.core.config import load_settings
    from vigil.core.elastic import client, install_templates
    from vigil.core.kafka import ensure_topics

    first = vigil_env.settings
    pages = corpus_pages()
    data = yaml.safe_load(vigil_env.config_path.read_text())
    replay = {
        **data,
        "kafka": {**data["kafka"], "topics": {k: (v if k == "pages_raw" else v + ".r2") for k, v in data["kafka"]["topics"].items()}},
        "es": {**data["es"], "indices": {k: v.replace(f"test-{vigil_env.uid}-", f"test-{vigil_env.uid}-r2-") for k, v in data["es"]["indices"].items()}},
        # a pipeline of its own: sharing the first one's group would tie every rebalance of one
        # networks worker to the other's
        "networks": {**data.get("networks", {}), "group_id": f"test-{vigil_env.uid}-networks-r2"},
    }  # fmt: skip
    replay_path = tmp_path / "replay.yaml"
    replay_path.write_text(yaml.safe_dump(replay))
    second = load_settings(replay_path)
    ensure_topics(second.kafka)
    install_templates(second.es)
    replay_env = {**vigil_env.env, "VIGIL_CONFIG": str(replay_path)}
    es = client(first.es)
    try:
        procs.start(vigil_env.env, "worker", "enrich", "--group", "one-enrich")
        procs.start(vigil_env.env, "worker", "networks")
        two_enrich = [
            procs.start(replay_env, "worker", "enrich", "--group", "two-enrich", "--batch-size", "10")
            for _ in range(2)
        ]
        procs.start(replay_env, "worker", "networks")
        procs.wait_started()
        # both enrich workers of the second pipeline hold partitions before the pages arrive
        two_logs = [log for proc, log in procs.started if proc in two_enrich]

        assert wait_for(lambda: all(assigned(log) for log in two_logs), timeout=120, interval=1), procs.logs()
        send(first, pages)

        def settled(settings) -> bool:
            found = ad_networks(es, settings.es.indices.ads)
            return len(found) == len(pages) and None not in found.values()

        def done(settings) -> bool:
            return (
                settled(settings)
                and caught_up(settings, settings.networks.group_id, settings.kafka.topics.network_links)
            )

        def progress(settings) -> str:
            found = ad_networks(es, settings.es.indices.ads)
            linked = sum(1 for nid in found.values() if nid)
            group, topic = settings.networks.group_id, settings.kafka.topics.network_links
            return f"{topic}: {len(found)} ads, {linked} with a network id, {group} caught up: {caught_up(settings, group, topic)}"

        assert wait_for(lambda: done(first) and done(second), timeout=240, interval=2), (
            f"{progress(first)}\n{progress(second)}\n{procs.logs()}"
        )
        one = ad_networks(es, first.es.indices.ads)
        two = ad_networks(es, second.es.indices.ads)
        assert one == two
        assert all("batch handled" in log.read_text(errors="replace") for log in two_logs), (
            "both enrich workers of the second pipeline handled pages"
        )
        keep = ("size", "members", "countries", "sites", "entities")

        def summary(settings) -> dict[str, dict]:
            found = network_docs(es, settings.es.indices.networks)
            return {nid: {f: doc[f] for f in keep} for nid, doc in found.items()}

        assert summary(first) == summary(second)
        sizes = sorted(
            (n["size"] for n in network_docs(es, first.es.indices.networks).values()), reverse=True
        )
        assert sizes and sizes[0] >= 3, sizes
    finally:
        for alias in second.es.indices.model_dump().values():
            if es.indices.exists_index_template(name=alias):
                es.indices.delete_index_template(name=alias)
        es.close()


def test_report_lists_the_largest_cross_border_networks_first(vigil_env, tmp_path):
    """The HTML report's network table reads vigil-networks: cross-border first, largest first."""
    from vigil.app.analyst.overview import top_networks
    from vigil.core.elastic import client

    settings = vigil_env.settings
    alias = settings.es.indices.networks
    es = client(settings.es)
    try:
        for nid, size, countries in (
            ("net-domestic-big", 40, ["DE"]),
            ("net-cross-small", 3, ["DE", "FR", "NL"]),
            ("net-cross-big", 12, ["DE", "NL"]),
        ):
            es.index(
                index=alias,
                id=nid,
                document={
                    "network_id": nid, "size": size, "countries": countries, "country_count": len(countries),
                    "cross_border": len(countries) > 1, "sites": ["s"], "site_count": 1,
                    "first_seen": "2026-11-01T00:00:00+00:00", "last_seen": "2026-11-02T00:00:00+00:00",
                },
            )  # fmt: skip
        es.indices.refresh(index=alias)
        assert [n["network_id"] for n in top_networks(es, alias)] == [
            "net-cross-big",
            "net-cross-small",
            "net-domestic-big",
        ]
        out = tmp_path / "report.html"
        made = vigil_env.run("report", "--out", out)
        assert made.returncode == 0, made.stderr
        html = out.read_text()
        table = html[html.index('id="networks"') :]
        assert table.index("net-cross-big") < table.index("net-cross-small") < table.index("net-domestic-big")
    finally:
        es.close()
