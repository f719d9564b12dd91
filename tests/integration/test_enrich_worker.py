"""The enrichment worker (`vigil worker enrich`) against the real local Kafka and Elasticsearch.

Every test runs the worker as a subprocess on the per-test topics and aliases of ``vigil_env``.
To prove that an extractor raising is dead-lettered, the worker subprocess gets a ``sitecustomize``
module (written to the test's scratch directory, never into the repository) that makes the real
``analyze`` raise on pages carrying a marker; everything else is the real analyser.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import vigil_executable
from tests.helpers import FIRST_OUTPUT, free_port, wait_for
from vigil.core.records import RawPage

pytestmark = pytest.mark.integration

RAISE_MARKER = "RAISE-IN-ANALYSIS"

FAULT_INJECTOR = f'''
"""Test-only fault injection: the real analyser raises on pages carrying the marker; a version
named in VIGIL_TEST_ANALYZER_VERSION stands for an upgraded analyser."""
import os

import pipelines.analysis as analysis

analysis.ANALYZER_VERSION = os.environ.get("VIGIL_TEST_ANALYZER_VERSION") or analysis.ANALYZER_VERSION

_real_analyze = analysis.analyze


def analyze(page):
    if {RAISE_MARKER!r} in page.body:
        raise RuntimeError("injected extractor failure")
    return _real_analyze(page)


analysis.analyze = analyze
'''

AD_HTML = """<!doctype html><html><head><title>{title}</title></head><body>
<div class="ad"><h1 class="title">{title}</h1><div class="location">{city}</div>
<div class="body">{body}</div><div class="posted">Posted: 2026-11-20</div></div></body></html>"""


def ad_page(
    n: int, body: str, *, profile: str = "fixture-escorts", title: str | None = None, **fields
) -> RawPage:
    title = title or f"Ad number {n}"
    html = AD_HTML.format(title=title, city="Las Vegas, NV", body=body)
    url = f"http://127.0.0.1:8080/ads/{n}.html"
    return RawPage(
        profile_id=profile,
        job_id="job-1",
        url=url,
        canonical_url=url,
        final_url=url,
        status=200,
        content_type="text/html; charset=utf-8",
        page_type="ad",
        ad_id=str(n),
        country="US",
        fields={"title": title},
        body=html,
        body_sha256=hashlib.sha256(html.encode()).hexdigest(),
        body_bytes=len(html),
        **fields,
    )


def listing_page(n: int, profile: str = "fixture-escorts") -> RawPage:
    url = f"http://127.0.0.1:8080/list?page={n}"
    html = f"<html><body><a href='/ads/{n}.html'>ad</a></body></html>"
    return RawPage(
        profile_id=profile, job_id="job-1", url=url, canonical_url=url, final_url=url, status=200,
        page_type="listing", body=html, body_sha256=hashlib.sha256(html.encode()).hexdigest(),
    )  # fmt: skip


def simple_ads(count: int, start: int = 0) -> list[RawPage]:
    return [
        ad_page(n, f"Sweet and discreet, call +1702386{n:04d} any time.") for n in range(start, start + count)
    ]


class Stack:
    """Producer, readers and probes on one vigil_env's topics and aliases."""

    def __init__(self, settings):
        from vigil.core import kafka
        from vigil.core.elastic import client

        self.settings = settings
        self.topics = settings.kafka.topics
        self.indices = settings.es.indices
        self.producer = kafka.producer(settings.kafka)
        self.groups: dict[str, object] = {}
        self.probe = kafka.consumer(settings.kafka, None)
        self.es = client(settings.es)

    def close(self) -> None:
        self.producer.close()
        for reader in self.groups.values():
            reader.close()
        self.probe.close()
        self.es.close()

    def send(self, values: list[RawPage | bytes | None]) -> None:
        for value in values:
            if isinstance(value, RawPage):
                self.producer.send(
                    self.topics.pages_raw, key=value.canonical_url.encode(), value=value.to_bytes()
                )
            else:
                self.producer.send(self.topics.pages_raw, key=b"poison", value=value)
        self.producer.flush()

    def committed(self, group: str) -> tuple[dict, dict]:
        """(end offset, committed offset or None) per partition of the raw-pages topic."""
        from kafka import TopicPartition

        from vigil.core import kafka

        if group not in self.groups:
            self.groups[group] = kafka.consumer(self.settings.kafka, group)
        reader = self.groups[group]
        partitions = self.probe.partitions_for_topic(self.topics.pages_raw) or set()
        tps = [TopicPartition(self.topics.pages_raw, p) for p in partitions]
        return self.probe.end_offsets(tps), {tp: reader.committed(tp) for tp in tps}

    def caught_up(self, group: str) -> bool:
        """True when the group committed every record of the raw-pages topic."""
        ends, committed = self.committed(group)
        return bool(ends) and all(ends[tp] == (committed[tp] or 0) for tp in ends)

    def committed_total(self, group: str) -> int:
        return sum(offset or 0 for offset in self.committed(group)[1].values())

    def read(self, topic: str) -> list[dict]:
        from vigil.core import kafka

        consumer = kafka.consumer(self.settings.kafka, None, topic, consumer_timeout_ms=3000)
        try:
            return [json.loads(message.value) for message in consumer]
        finally:
            consumer.close()

    def docs(self, alias: str) -> dict[str, dict]:
        self.es.indices.refresh(index=alias)
        hits = self.es.search(index=alias, size=10000, query={"match_all": {}})["hits"]["hits"]
        return {hit["_id"]: hit["_source"] for hit in hits}

    def count(self, alias: str) -> int:
        self.es.indices.refresh(index=alias)
        return self.es.count(index=alias)["count"]


class Worker:
    """One `vigil worker enrich` subprocess; its stderr (JSON log lines) goes to a file."""

    def __init__(self, env: dict[str, str], log: Path, *args: str):
        self.log_path = log
        self._log = open(log, "ab")  # noqa: SIM115 - closed in stop()/kill()
        self.process = subprocess.Popen(
            [vigil_executable(), "worker", "enrich", *args], env=env, stdout=self._log, stderr=self._log
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 60) -> int:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        self._log.close()
        return code

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=30)
        self._log.close()


@pytest.fixture
def stack_io(vigil_env):
    io = Stack(vigil_env.settings)
    yield io
    io.close()


@pytest.fixture
def start_worker(vigil_env, tmp_path):
    """Starts worker subprocesses (with the fault injector on the path); stops them afterwards."""
    scratch = tmp_path / "fault-injection"
    scratch.mkdir()
    (scratch / "sitecustomize.py").write_text(FAULT_INJECTOR)
    started: list[Worker] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Worker:
        full_env = {**vigil_env.env, **(env or {})}
        full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(scratch), full_env.get("PYTHONPATH")]))
        full_env["PYTHONUNBUFFERED"] = "1"  # a killed worker's log is kept to its last line
        worker = Worker(full_env, tmp_path / f"worker-{len(started)}.log", *args)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.alive():
            worker.kill()
        print(f"--- {worker.log_path.name}\n{worker.log()[-4000:]}")


def _metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


def test_ads_carry_the_expected_entities_and_indicators(vigil_env, stack_io, start_worker):
    pages = [
        ad_page(1, "New in town!! Sexy young girl 19 yo, call or text (702) 386-4417. "
                   "Email Lola.Vegas@Example.COM. Incall/outcall 24/7, no police."),
        ad_page(2, "Sweet Asian girls, fresh every week. Call 702.386.4417 now, kik: lola_vegas"),
        ad_page(3, "Relaxing massage by appointment. Contact 415-867-5309 or anna.m@example.org"),
    ]  # fmt: skip
    expected = {
        "fixture-escorts:1": {"phones": ["+17023864417"], "emails": ["lola.vegas@example.com"]},
        "fixture-escorts:2": {"phones": ["+17023864417"], "handles": ["kik:lola_vegas"]},
        "fixture-escorts:3": {"phones": ["+14158675309"], "emails": ["anna.m@example.org"]},
    }
    # By hand from pipelines/indicators.yaml: "New in town" moves, "young girl" and "fresh" are
    # youthful wording, "Asian" states an ethnicity; the massage ad names none.
    indicators = {
        "fixture-escorts:1": {"movement_language", "youthful_language"},
        "fixture-escorts:2": {"stated_ethnicity", "youthful_language"},
        "fixture-escorts:3": set(),
    }
    stack_io.send(pages)
    worker = start_worker("--group", "g-content")
    assert wait_for(lambda: stack_io.caught_up("g-content"), timeout=90), worker.log()[-3000:]

    ads = stack_io.docs(vigil_env.settings.es.indices.ads)
    assert sorted(ads) == sorted(expected)
    for page in pages:
        key = f"{page.profile_id}:{page.ad_id}"
        doc = ads[key]
        for field in ("phones", "emails", "handles"):
            assert sorted(doc[field]) == sorted(expected[key].get(field, [])), (key, field, doc[field])
        assert set(doc["indicator_ids"]) == indicators[key], (key, doc["indicator_ids"])
        assert (doc["risk"] > 0) == bool(indicators[key]) and doc["seen_count"] == 1, (key, doc["risk"])

    entities = stack_io.docs(vigil_env.settings.es.indices.entities)
    shared = entities["phone:+17023864417"]
    assert shared["ad_count"] == 2
    assert sorted(shared["ad_keys"]) == ["fixture-escorts:1", "fixture-escorts:2"]
    assert shared["sites"] == ["fixture-escorts"] and shared["countries"] == ["US"]
    assert worker.stop() == 0


def test_redelivery_creates_no_duplicate_and_no_event(vigil_env, stack_io, start_worker):
    """The same records twice: one document each, seen once, one ad.new each; a re-crawl (new
    record) of unchanged content counts as seen again without an event, changed content raises
    ad.changed; a listing page goes to the pages index."""
    metrics_port = free_port()
    pages = simple_ads(6)
    stack_io.send([*pages, listing_page(1)])
    worker = start_worker("--group", "g-redeliver", "--batch-size", "4", "--metrics-port", str(metrics_port))
    assert wait_for(lambda: stack_io.caught_up("g-redeliver"), timeout=FIRST_OUTPUT), worker.log()[-3000:]

    recrawl_same = pages[0].model_copy(update={"record_id": "recrawl-same", "job_id": "job-2"})
    changed_body = pages[1].body.replace("Sweet and discreet", "Brand new photos")
    recrawl_changed = pages[1].model_copy(
        update={"record_id": "recrawl-changed", "body": changed_body, "job_id": "job-2", "baseline": True}
    )
    stack_io.send([*pages, recrawl_same, recrawl_changed])
    assert wait_for(lambda: stack_io.caught_up("g-redeliver"), timeout=60), worker.log()[-3000:]

    ads = stack_io.docs(vigil_env.settings.es.indices.ads)
    assert len(ads) == 6
    counts = {key: doc["seen_count"] for key, doc in ads.items()}
    assert counts == {f"fixture-escorts:{n}": 2 if n in (0, 1) else 1 for n in range(6)}
    assert "Brand new photos" in ads["fixture-escorts:1"]["text"]
    assert ads["fixture-escorts:0"]["first_seen"] == pages[0].fetched_at.isoformat().replace("+00:00", "Z")

    events = stack_io.read(vigil_env.settings.kafka.topics.ad_events)
    kinds = sorted((e["ad_key"], e["event_type"]) for e in events)
    assert kinds == sorted(
        [(f"fixture-escorts:{n}", "ad.new") for n in range(6)] + [("fixture-escorts:1", "ad.changed")]
    )
    assert all(e["job_id"] == "job-1" and not e["baseline"] for e in events if e["event_type"] == "ad.new")
    changed = next(e for e in events if e["event_type"] == "ad.changed")
    assert changed["job_id"] == "job-2" and changed["baseline"] and "Brand new photos" in changed["text"]
    assert changed["first_seen"] == ads["fixture-escorts:1"]["first_seen"]
    assert stack_io.count(vigil_env.settings.es.indices.pages) == 1

    metrics = _metrics(metrics_port)
    assert 'vigil_enrich_records_total{outcome="duplicate"} 6.0' in metrics
    assert 'vigil_ad_events_total{event_type="ad.new"} 6.0' in metrics
    assert "vigil_bulk_latency_seconds_count" in metrics
    assert 'vigil_consumer_lag{group="g-redeliver"' in metrics
    assert worker.stop() == 0


def test_kill_9_mid_batch_then_restart_indexes_every_record_once(vigil_env, stack_io, start_worker):
    total = 200
    pages = [
        ad_page(n, f"Call +1702386{n:04d}. " + "Discreet companion, upscale. " * 60) for n in range(total)
    ]
    stack_io.send(pages)
    ads_alias = vigil_env.settings.es.indices.ads
    worker = start_worker("--group", "g-kill", "--batch-size", "20")
    # The first document appears once the worker has started: seconds when idle, a minute or more on a loaded machine.
    assert wait_for(lambda: stack_io.count(ads_alias) > 0, timeout=240, interval=0.05), worker.log()[-3000:]
    worker.kill()
    indexed_at_kill = stack_io.count(ads_alias)
    assert 0 < indexed_at_kill < total, f"killed too late to be mid-stream ({indexed_at_kill} indexed)"
    assert not stack_io.caught_up("g-kill")

    restarted = start_worker("--group", "g-kill", "--batch-size", "20")
    assert wait_for(lambda: stack_io.caught_up("g-kill"), timeout=180), restarted.log()[-3000:]
    ads = stack_io.docs(ads_alias)
    assert len(ads) == total
    assert {doc["seen_count"] for doc in ads.values()} == {1}
    events = stack_io.read(vigil_env.settings.kafka.topics.ad_events)
    assert {e["ad_key"] for e in events} == set(ads), "an ad.new event was lost"
    assert len({e["event_id"] for e in events}) == total, "a repeated event must repeat its id"
    assert restarted.stop() == 0


class OutageProxy:
    """A loopback TCP proxy in front of the shared Elasticsearch that can refuse connections.

    Stopping the shared Elasticsearch would break the other engineers' tests, and a private second
    node costs a minute of start-up and a second heap; closing this proxy is a real network outage
    (connections cut, the port refuses) in front of a real Elasticsearch.
    """

    def __init__(self, target_port: int):
        self.target = ("127.0.0.1", target_port)
        self.port = free_port()
        self.server: socket.socket | None = None
        self.connections: list[socket.socket] = []
        self.lock = threading.Lock()

    def open(self) -> None:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(64)
        self.server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            self.server.close()
            self.server = None
        with self.lock:
            for conn in self.connections:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                conn.close()
            self.connections.clear()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.connections += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for conn in (source, sink):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def test_elasticsearch_outage_of_20_seconds_loses_nothing(vigil_env, stack_io, start_worker):
    """Elasticsearch reached through a proxy that is closed for 20 s (see OutageProxy)."""
    proxy = OutageProxy(vigil_env.settings.es.port)
    proxy.open()
    ads_alias = vigil_env.settings.es.indices.ads
    es = vigil_env.settings.es
    env = {"VIGIL_ES_URL": f"http://127.0.0.1:{proxy.port}"}
    if es.username:  # an ES named by URL is external: its credentials come from the environment too
        env.update(VIGIL_ES_USERNAME=es.username, VIGIL_ES_PASSWORD=es.password.get_secret_value())
    worker = start_worker("--group", "g-outage", "--batch-size", "10", env=env)
    try:
        stack_io.send(simple_ads(20))
        assert wait_for(lambda: stack_io.caught_up("g-outage"), timeout=FIRST_OUTPUT), worker.log()[-3000:]
        committed_before = stack_io.committed_total("g-outage")

        proxy.close()
        stack_io.send(simple_ads(30, start=20))
        time.sleep(20)
        assert worker.alive()
        assert stack_io.count(ads_alias) == 20
        assert stack_io.committed_total("g-outage") == committed_before, "committed during the outage"
        assert f"Elasticsearch unreachable at http://127.0.0.1:{proxy.port}" in worker.log()

        proxy.open()
        assert wait_for(lambda: stack_io.caught_up("g-outage"), timeout=60), worker.log()[-3000:]
        ads = stack_io.docs(ads_alias)
        assert len(ads) == 50
        assert {doc["seen_count"] for doc in ads.values()} == {1}
        assert worker.stop() == 0
    finally:
        proxy.close()


def test_poison_records_go_to_the_dead_letter_topic_and_the_worker_goes_on(vigil_env, stack_io, start_worker):
    metrics_port = free_port()
    good = simple_ads(3)
    raising = ad_page(99, f"{RAISE_MARKER}: the injected fault makes the analyser raise on this")
    wrong_schema = json.dumps({**json.loads(good[0].to_bytes()), "status": "two hundred"}).encode()
    poison: list[bytes | RawPage | None] = [
        b"\x00\xff not json at all {",
        b'{"hello": "world"}',
        wrong_schema,
        None,
        raising,
    ]
    stack_io.send([good[0], *poison, good[1], good[2]])
    worker = start_worker("--group", "g-poison", "--metrics-port", str(metrics_port))
    assert wait_for(lambda: stack_io.caught_up("g-poison"), timeout=FIRST_OUTPUT), worker.log()[-3000:]

    letters = stack_io.read(vigil_env.settings.kafka.topics.pages_dlq)
    causes = sorted(letter["error_type"] for letter in letters)
    expected = sorted(["invalid_json", "schema", "schema", "invalid_json", "analysis"])
    assert causes == expected
    assert all(letter["stage"] == "enrich" and letter["source_topic"] == vigil_env.settings.kafka.topics.pages_raw
               for letter in letters)  # fmt: skip
    originals = {letter["original"] for letter in letters}
    assert '{"hello": "world"}' in originals and wrong_schema.decode() in originals
    assert any("injected extractor failure" in letter["error"] for letter in letters)

    assert sorted(stack_io.docs(vigil_env.settings.es.indices.ads)) == [
        f"fixture-escorts:{n}" for n in range(3)
    ]
    assert worker.alive()
    assert f'vigil_dead_letters_total{{stage="enrich"}} {len(expected)}.0' in _metrics(metrics_port)
    assert worker.stop() == 0


def test_replay_after_an_analyser_upgrade_updates_ads_in_place(vigil_env, stack_io, start_worker):
    """Replaying the raw topic from offset 0 with a new analyser version re-analyses every ad in
    place: new version stored, first_seen, last_seen and seen_count kept, no new events; the same
    version replayed again changes no ad and announces nothing new (a record that created its ad
    may re-send that ad.new, with the same event id, which alerts absorb: docs/records.md)."""
    from kafka import TopicPartition
    from kafka.errors import CommitFailedError
    from kafka.structs import OffsetAndMetadata

    from pipelines.analysis import ANALYZER_VERSION
    from vigil.core import kafka

    def rewind() -> None:
        client = kafka.consumer(vigil_env.settings.kafka, "g-replay")
        try:
            partitions = client.partitions_for_topic(vigil_env.settings.kafka.topics.pages_raw)
            tps = [TopicPartition(vigil_env.settings.kafka.topics.pages_raw, p) for p in partitions]

            def rewound() -> bool:
                try:
                    client.commit({tp: OffsetAndMetadata(0, "", -1) for tp in tps})
                except CommitFailedError:  # the group still lists the stopped worker (seen once in two runs)
                    return False
                return True

            assert wait_for(rewound, timeout=60, interval=1.0), "the group never let go of the stopped worker"
        finally:
            client.close(autocommit=False)
        assert stack_io.committed_total("g-replay") == 0

    # A worker starts in seconds on a quiet machine; the generous waits are for a loaded one.
    pages = simple_ads(3)
    stack_io.send(pages)
    worker = start_worker("--group", "g-replay")
    assert wait_for(lambda: stack_io.caught_up("g-replay"), timeout=240), worker.log()[-3000:]
    assert worker.stop() == 0
    ads_alias = vigil_env.settings.es.indices.ads
    before = stack_io.docs(ads_alias)
    assert {doc["analyzer_version"] for doc in before.values()} == {ANALYZER_VERSION}

    rewind()
    upgrade = {"VIGIL_TEST_ANALYZER_VERSION": "9.9.9-test"}
    upgraded = start_worker("--group", "g-replay", env=upgrade)
    assert wait_for(lambda: stack_io.caught_up("g-replay"), timeout=240), upgraded.log()[-3000:]
    assert upgraded.stop() == 0
    after = stack_io.docs(ads_alias)
    assert sorted(after) == sorted(before) == [f"fixture-escorts:{n}" for n in range(3)]
    for key, doc in after.items():
        assert doc["analyzer_version"] == "9.9.9-test", key
        for kept in ("first_seen", "last_seen", "seen_count", "record_ids", "phones"):
            assert doc[kept] == before[key][kept], (key, kept)
    events = stack_io.read(vigil_env.settings.kafka.topics.ad_events)
    assert sorted(e["event_type"] for e in events) == ["ad.new"] * 3
    announced = {e["event_id"] for e in events}

    rewind()
    metrics_port = free_port()
    again = start_worker("--group", "g-replay", "--metrics-port", str(metrics_port), env=upgrade)
    assert wait_for(lambda: stack_io.caught_up("g-replay"), timeout=240), again.log()[-3000:]
    metrics = _metrics(metrics_port)
    assert 'outcome="reanalysed"' not in metrics and 'outcome="changed"' not in metrics, metrics
    assert again.stop() == 0
    assert stack_io.docs(ads_alias) == after, "the same version replayed changed an ad"
    events = stack_io.read(vigil_env.settings.kafka.topics.ad_events)
    assert {e["event_id"] for e in events} == announced and {e["event_type"] for e in events} == {"ad.new"}


def test_read_only_indices_pause_the_worker_and_nothing_is_lost(vigil_env, stack_io, start_worker):
    """What Elasticsearch does at the flood-stage disk watermark: it marks indices
    read_only_allow_delete and refuses writes with 429. Applied here to this test's own indices."""
    indices = vigil_env.settings.es.indices
    stack_io.send(simple_ads(2))
    worker = start_worker("--group", "g-flood")
    assert wait_for(lambda: stack_io.caught_up("g-flood"), timeout=FIRST_OUTPUT), worker.log()[-3000:]
    committed_before = stack_io.committed_total("g-flood")
    blocked = f"{indices.ads},{indices.entities}"
    stack_io.es.indices.put_settings(index=blocked, settings={"index.blocks.read_only_allow_delete": True})
    try:
        stack_io.send(simple_ads(5, start=2))
        assert wait_for(lambda: "cluster_block_exception" in worker.log(), timeout=60), worker.log()[-3000:]
        assert stack_io.committed_total("g-flood") == committed_before, "committed while writes were refused"
        assert worker.alive()
    finally:
        stack_io.es.indices.put_settings(index=blocked, settings={"index.blocks.read_only_allow_delete": None})
    assert wait_for(lambda: stack_io.caught_up("g-flood"), timeout=90), worker.log()[-3000:]
    ads = stack_io.docs(indices.ads)
    assert sorted(ads) == [f"fixture-escorts:{n}" for n in range(7)]
    assert {doc["seen_count"] for doc in ads.values()} == {1}
    assert worker.stop() == 0
