"""Failover on a real local cluster: 3 KRaft brokers (replication factor 3, min.insync.replicas 2)
and 3 Elasticsearch nodes (1 replica), started by the stack code (``vigil stack up --nodes 3``).

Crawls (`vigil crawl`, one after another) and the enrich and alerts workers run while the
active Kafka controller and the elected Elasticsearch master are SIGKILLed, and later restarted;
two more crawls run once they are back, after which both nodes must have caught up (every
partition's ISR complete again, the Elasticsearch cluster green).
Afterwards every page published is indexed (ads by record id, listings by URL), no ad twice and no
fetch counted twice (idempotent ids absorb re-deliveries), every crawl's records arrived exactly
once (the idempotent producer absorbs its retries), each ad raised one ``ad.new`` event and
``vigil-alerts`` holds one alert per ad; no worker exited.

The cluster is left running when it was already up, and stopped otherwise. It needs about 4 GB
of memory (Elasticsearch heaps ``stack.cluster_es_heap``).
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import yaml

from tests.conftest import VigilEnv, _unique_config
from tests.fixture_site import FixtureSite
from tests.helpers import free_port, wait_for
from tests.integration.test_crawl import board_profile, write_profile
from tests.integration.test_monitoring import Webhook
from tests.integration.test_scale_out import Probe, WorkerProcess, duplicates
from vigil.app.stack import StackError, down, ensure_up, processes
from vigil.app.stack.cluster import client_config, cluster_settings
from vigil.app.stack.elasticsearch import Elasticsearch
from vigil.app.stack.kafka import Kafka
from vigil.core.config import load_settings

pytestmark = pytest.mark.integration

NODES = 3
CRAWLS = 8  # while the nodes are killed and restarted
BEFORE = 2  # of those, before the kill
AFTER = 2  # once both are back
CATEGORIES = ["escorts", "jobs", "us-escorts"]


@pytest.fixture(scope="module")
def cluster():
    """The local 3-node cluster's settings; started if needed, and then stopped afterwards."""
    settings = cluster_settings(load_settings(), NODES)
    try:
        outcome = ensure_up(settings)
    except StackError as exc:
        pytest.fail(f"the local cluster did not start: {exc}", pytrace=False)
    yield settings
    if "started" in outcome.values():
        down(settings)


@pytest.fixture
def cluster_env(cluster, tmp_path: Path):
    """Like ``vigil_env``, on the cluster: the test's own topics (replicated 3 times) and aliases."""
    from vigil.core.elastic import install_templates
    from vigil.core.kafka import ensure_topics

    uid = uuid.uuid4().hex[:10]
    config = _unique_config(cluster, uid)
    for section, values in client_config(cluster).items():
        config[section].update(values)
    config_path = tmp_path / "vigil.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    settings = load_settings(config_path)
    ensure_topics(settings.kafka)
    install_templates(settings.es)
    env = {**os.environ, "VIGIL_CONFIG": str(config_path), "VIGIL_HOME": str(settings.state_dir)}
    for key in ("VIGIL_KAFKA_BOOTSTRAP", "VIGIL_ES_URL"):
        env.pop(key, None)
    yield VigilEnv(settings=settings, config_path=config_path, env=env, uid=uid)

    remove_test_data(settings, uid)


def remove_test_data(settings, uid: str) -> None:
    """Best effort: the test's indices, templates and topics go."""
    from vigil.core.elastic import client
    from vigil.core.kafka import admin

    try:
        es = client(settings.es)
        names = list(es.indices.get(index=f"test-{uid}-*", expand_wildcards="all"))
        if names:
            es.indices.delete(index=",".join(names), ignore_unavailable=True)
        for alias in settings.es.indices.model_dump().values():
            if es.indices.exists_index_template(name=alias):
                es.indices.delete_index_template(name=alias)
        es.close()
    except Exception as exc:  # noqa: BLE001
        print(f"cluster_env teardown: indices test-{uid}-* not deleted: {exc}")
    try:
        kafka_admin = admin(settings.kafka)
        mine = [t for t in kafka_admin.list_topics() if t.startswith(f"test.{uid}.")]
        if mine:
            kafka_admin.delete_topics(mine)
        kafka_admin.close()
    except Exception as exc:  # noqa: BLE001
        print(f"cluster_env teardown: topics test.{uid}.* not deleted: {exc}")


def es_master(settings) -> int:
    """The node number of the elected Elasticsearch master."""
    from vigil.core.elastic import client

    es = client(settings.es)
    try:
        name = es.cat.master(format="json")[0]["node"]
    finally:
        es.close()
    return int(name.rpartition("-")[2])


def kafka_controller(settings) -> int:
    from vigil.core.kafka import admin

    client = admin(settings.kafka)
    try:
        return int(client.describe_cluster()["controller_id"])
    finally:
        client.close()


def quietly(predicate):
    """``predicate`` as a wait condition: an error (a node is down just now) means "not yet"."""

    def probe() -> bool:
        try:
            return predicate()
        except Exception:  # noqa: BLE001
            return False

    return probe


def rejoined(settings) -> bool:
    """Every partition of the test's topics has all replicas in sync, and every shard is assigned."""
    from vigil.core.elastic import client
    from vigil.core.kafka import admin

    kafka_admin = admin(settings.kafka)
    try:
        described = kafka_admin.describe_topics(list(settings.kafka.topics.model_dump().values()))
    finally:
        kafka_admin.close()
    in_sync = all(
        len(partition["isr_nodes"]) == NODES for topic in described for partition in topic["partitions"]
    )
    es = client(settings.es)
    try:
        green = es.cluster.health(timeout="1s")["status"] == "green"
    finally:
        es.close()
    return in_sync and green


def sigkill(node) -> None:
    """SIGKILL a node's processes (Elasticsearch: the server JVM and its launcher) and wait for them."""
    node.pid()  # Elasticsearch: records the server JVM's PID beside the launcher's
    pids = [processes.read_pid(path) for path in (node.pid_path, getattr(node, "launcher_pid_path", None)) if path]
    for pid in filter(None, pids):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for pid in filter(None, pids):
        assert processes.wait_gone(pid, timeout=30), f"{node.name}: pid {pid} survived SIGKILL"


def troubles(worker: WorkerProcess) -> Counter:
    """The worker's own warning and error events, by name (what an operator would have seen)."""
    found: Counter = Counter()
    for line in worker.log().splitlines():
        if line.startswith("{"):
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if entry.get("level") in ("warning", "error"):
                found[entry.get("event")] += 1
    return found


class Crawls(threading.Thread):
    """Runs `vigil crawl PROFILE --json` for each profile in turn and keeps every summary.

    With ``pause_after``, it stops after that many crawls until ``resume`` is set: the crawls after
    it then run with the nodes down however fast the first ones went, or slowly enrichment started.
    """

    def __init__(self, env: VigilEnv, profiles: list[Path], pause_after: int | None = None):
        super().__init__(daemon=True)
        self.env = env
        self.profiles = profiles
        self.pause_after = pause_after
        self.resume = threading.Event()
        self.summaries: list[dict] = []
        self.failures: list[str] = []

    def run(self) -> None:
        for number, path in enumerate(self.profiles):
            if number == self.pause_after:
                self.resume.wait()
            try:
                result = self.env.run("crawl", str(path), "--json", timeout=300)
            except Exception as exc:  # noqa: BLE001 - a hung crawl (timeout) is a failure to report, not a dead thread
                self.failures.append(f"{path.name}: {type(exc).__name__}: {exc}")
                continue
            lines = [line for line in result.stdout.splitlines() if line.strip()]
            if result.returncode != 0 or len(lines) != 1:
                self.failures.append(f"{path.name}: exit {result.returncode}: {result.stderr[-2000:]}")
                continue
            self.summaries.append(json.loads(lines[0]))

    @property
    def done(self) -> int:
        return len(self.summaries) + len(self.failures)


@pytest.mark.timeout(900)
def test_a_crawl_survives_losing_a_broker_and_an_es_node(cluster, cluster_env, tmp_path):
    settings = cluster_env.settings
    topics = settings.kafka.topics
    uid = cluster_env.uid
    enrich_group, alerts_group = f"cluster-enrich-{uid}", f"cluster-alerts-{uid}"
    hook = Webhook()
    rules = {
        "rules": [{"id": "new", "when": {"new_ad": True}}],
        "subscribers": [{"id": "ops", "urls": [hook.url], "rules": ["new"], "digest": 0}],
    }
    (tmp_path / "alerts.yaml").write_text(yaml.safe_dump(rules))
    config = yaml.safe_load(cluster_env.config_path.read_text())
    config["alerts_rules"] = str(tmp_path / "alerts.yaml")
    config["alerts"] = {"group_id": alerts_group, "attempts": 3, "backoff_seconds": 0.5}
    cluster_env.config_path.write_text(yaml.safe_dump(config, sort_keys=False))

    probe = Probe(settings)
    workers: list[WorkerProcess] = []
    timings: dict[str, float] = {}
    began = time.monotonic()

    def mark(name: str) -> None:
        timings[name] = time.monotonic() - began

    try:
        with FixtureSite() as site:
            profiles, expected = [], set()
            for i in range(CRAWLS + AFTER):
                slug = CATEGORIES[i % len(CATEGORIES)]
                profile_id = f"cluster-{i:02d}"
                profiles.append(
                    write_profile(
                        tmp_path,
                        board_profile(
                            site, id=profile_id, start_urls=[f"{site.url}category/{slug}"], follow=[{"css": "a.next"}]
                        ),
                    )
                )
                expected |= {f"{profile_id}:{ad['id']}" for ad in site.board.in_category(slug)}

            metrics_port = free_port()
            enrich = WorkerProcess(
                "enrich",
                cluster_env.env,
                tmp_path / "enrich.log",
                *("--group", enrich_group, "--batch-size", "10", "--metrics-port", str(metrics_port)),
            )
            alerts = WorkerProcess("alerts", cluster_env.env, tmp_path / "alerts.log")
            workers += [enrich, alerts]
            crawls = Crawls(cluster_env, profiles[:CRAWLS], pause_after=BEFORE)
            crawls.start()

            # The first ads show once the enrich worker has started: a minute or more on a loaded machine.
            assert wait_for(
                quietly(lambda: crawls.done >= BEFORE and len(probe.ads()) > 0), timeout=240, interval=1
            ), f"no ads indexed: {crawls.failures}\n{enrich.log()[-2000:]}"
            mark("first ads indexed")
            broker = Kafka(cluster, kafka_controller(settings))
            es_node = Elasticsearch(cluster, es_master(settings))
            sigkill(broker)
            sigkill(es_node)
            mark(f"SIGKILLed {broker.name} (controller) and {es_node.name} (master)")
            indexed_at_kill, crawled_at_kill = len(probe.ads()), crawls.done
            crawls.resume.set()

            def progress() -> bool:
                return crawls.done >= crawled_at_kill + 2 and len(probe.ads()) > indexed_at_kill

            assert wait_for(quietly(progress), timeout=240, interval=1), (
                f"no progress with a node of each down: {crawls.done} crawls ({crawled_at_kill} at the kill), "
                f"{len(probe.ads())} ads ({indexed_at_kill}), failures: {crawls.failures}\n{enrich.log()[-3000:]}"
            )
            mark("crawled and indexed with a node of each down")
            broker.start()
            es_node.start()
            broker.wait_ready(cluster.stack.ready_timeout)
            es_node.wait_ready(cluster.stack.ready_timeout)
            mark(f"{broker.name} and {es_node.name} restarted")

            crawls.join(timeout=400)
            assert not crawls.is_alive(), "the crawls did not finish"
            mark(f"{crawls.done} crawls finished")
            after = Crawls(cluster_env, profiles[CRAWLS:])
            after.run()
            mark(f"{after.done} more crawls finished")
            assert not crawls.failures + after.failures, crawls.failures + after.failures
            crawls.summaries += after.summaries
            assert wait_for(
                quietly(
                    lambda: probe.caught_up(enrich_group, topics.pages_raw)
                    and probe.caught_up(alerts_group, topics.ad_events)
                ),
                timeout=240,
                interval=1,
            ), "workers did not catch up:\n" + "\n".join(w.log()[-2000:] for w in workers)
            mark("enrichment and alerts caught up")
            assert enrich.alive() and alerts.alive(), "\n".join(w.log()[-3000:] for w in workers)
            assert wait_for(quietly(lambda: rejoined(settings)), timeout=180, interval=1), (
                "the restarted nodes did not catch up"
            )
            mark("all partitions fully replicated, Elasticsearch green")

        pages = probe.read(topics.pages_raw)
        published = sum(s["published"] for s in crawls.summaries)
        assert len(pages) == published, f"{len(pages)} records on the topic for {published} published"
        assert len({p["record_id"] for p in pages}) == len(pages), "a record was stored twice"

        fetches: dict[str, set[str]] = defaultdict(set)
        listings: set[str] = set()
        for page in pages:
            if page["page_type"] == "ad":
                fetches[f"{page['profile_id']}:{page['ad_id']}"].add(page["record_id"])
            elif page["page_type"] == "listing":
                listings.add(page["canonical_url"])
        assert set(fetches) == expected, "an ad page was never crawled, or one that should not be"

        ads = probe.ads()
        by_key = Counter(doc["ad_key"] for doc in ads)
        assert not [key for key, n in by_key.items() if n > 1], "an ad was indexed as two documents"
        assert set(by_key) == expected, f"not indexed: {sorted(expected - set(by_key))[:10]}"
        miscounted = {
            doc["ad_key"]: (doc["seen_count"], len(fetches[doc["ad_key"]]))
            for doc in ads
            if doc["seen_count"] != len(fetches[doc["ad_key"]]) or set(doc["record_ids"]) != fetches[doc["ad_key"]]
        }
        assert not miscounted, f"ad -> (seen_count, distinct fetches): {miscounted}"

        probe.es.indices.refresh(index=settings.es.indices.pages)
        indexed_listings = {
            hit["_source"]["canonical_url"]
            for hit in probe.es.search(index=settings.es.indices.pages, size=1000, query={"match_all": {}})[
                "hits"
            ]["hits"]
        }
        assert listings <= indexed_listings, f"listing pages not indexed: {sorted(listings - indexed_listings)}"

        events = probe.read(topics.ad_events)
        event_ids = defaultdict(set)
        for event in events:
            assert event["event_type"] == "ad.new", event
            event_ids[event["ad_key"]].add(event["event_id"])
        assert set(event_ids) == expected and all(len(ids) == 1 for ids in event_ids.values())

        def alerts_found() -> list[dict]:
            probe.es.indices.refresh(index=settings.es.indices.alerts)
            found = probe.es.search(index=settings.es.indices.alerts, size=1000, query={"match_all": {}})
            return [hit["_source"] for hit in found["hits"]["hits"]]

        per_ad = Counter(a["ad_key"] for a in alerts_found())
        assert set(per_ad) == expected and set(per_ad.values()) == {1}, "not one alert per ad"
        # Delivery is at most once (docs/alerts.md): an alert whose claim was answered by a dying
        # node and then re-claimed stays `pending`, unsent, with an "already alerted" in the log.
        skipped = sum(1 for line in alerts.log().splitlines() if '"already alerted"' in line)

        def settled() -> bool:
            statuses = Counter(a["status"] for a in alerts_found())
            return statuses["sent"] == len(hook.posts) and statuses["pending"] <= skipped

        assert wait_for(quietly(settled), timeout=60, interval=1), (
            f"{Counter(a['status'] for a in alerts_found())}, {len(hook.posts)} posts, {skipped} skipped"
        )
        statuses = Counter(a["status"] for a in alerts_found())
        posts = Counter(p.body for p in hook.posts)
        assert set(posts.values()) == {1}, "an alert was delivered twice"

        redelivered = duplicates(metrics_port)
        for worker in workers:
            assert worker.stop() == 0, worker.log()[-2000:]
        print(
            f"\ncluster failover: {CRAWLS + AFTER} crawls, {len(pages)} records ({published} published), "
            f"{len(expected)} ads, {len(listings)} listings, {sum(statuses.values())} alerts "
            f"({dict(statuses)}), {len(hook.posts)} webhook posts, none repeated; "
            f"re-delivered records recognised by enrichment: {redelivered}"
        )
        for name, at in timings.items():
            print(f"  {at:6.1f} s  {name}")
        for worker in workers:
            print(f"  {worker.role} worker's warnings and errors: {dict(troubles(worker)) or 'none'}")
    finally:
        for worker in workers:
            if worker.alive():
                worker.kill()
        probe.close()
        hook.close()
