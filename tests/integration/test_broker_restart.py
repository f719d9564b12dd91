"""A single Kafka broker SIGKILLed and restarted under a busy enrich worker (issue 12's fault
matrix): the worker waits instead of exiting, nothing is lost and nothing is counted twice.

The broker is a private one (its own ports and state directory under the test's scratch folder,
the main stack's jars): killing the shared broker would break the other tests running on it.
Elasticsearch is the shared one. The broker is killed while the worker is part-way through the
records, so a batch is in flight (written to Elasticsearch, its events and commit not yet
acknowledged); after the restart the re-delivered records must be absorbed by the idempotent ids.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
import yaml

from tests.helpers import free_port, wait_for
from tests.integration.test_enrich_worker import Stack, Worker, ad_page
from vigil.app.stack import processes

pytestmark = pytest.mark.integration

TOTAL = 150


@pytest.fixture
def private_broker(stack, vigil_env, tmp_path, monkeypatch):
    """A one-node KRaft broker on free ports; ``vigil_env`` is pointed at it."""
    from vigil.app.stack.kafka import Kafka
    from vigil.core.config import Settings, load_settings
    from vigil.core.kafka import ensure_topics

    main = Kafka(stack)
    if not main.fetched():
        pytest.skip("Kafka's jars are not fetched (vigil stack fetch)")
    for name in [n for n in os.environ if n.startswith("VIGIL_")]:
        monkeypatch.delenv(name)  # VIGIL_HOME would put the broker in the shared state directory
    bootstrap = f"127.0.0.1:{free_port()}"
    controller = free_port()
    broker = Kafka(Settings(home=tmp_path / "broker-home", kafka={"bootstrap": bootstrap, "controller_port": controller}),
                   lib=main.lib)  # fmt: skip
    assert broker.root.is_relative_to(tmp_path) and broker.pid_path.is_relative_to(tmp_path)
    broker.start()
    try:
        broker.wait_ready(180)
        config = yaml.safe_load(vigil_env.config_path.read_text())
        config["kafka"].update(bootstrap=bootstrap, controller_port=controller, partitions=2)
        vigil_env.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        vigil_env.settings = load_settings(vigil_env.config_path)
        vigil_env.env.pop("VIGIL_KAFKA_BOOTSTRAP", None)
        ensure_topics(vigil_env.settings.kafka)
        yield broker
    finally:
        broker.stop()


def sigkill(broker) -> None:
    pid = broker.pid()
    assert pid, "the broker is not running"
    os.kill(pid, signal.SIGKILL)
    assert processes.wait_gone(pid, timeout=30), f"broker pid {pid} survived SIGKILL"


@pytest.mark.timeout(420)
def test_a_broker_killed_and_restarted_mid_batch_loses_nothing(vigil_env, private_broker, tmp_path):
    settings = vigil_env.settings
    ads_alias = settings.es.indices.ads
    io = Stack(settings)
    worker = Worker(vigil_env.env, tmp_path / "worker.log", "--group", "g-broker", "--batch-size", "10")
    try:
        pages = [
            ad_page(n, f"Call +1702386{n:04d}. " + "Discreet companion, upscale. " * 60) for n in range(TOTAL)
        ]
        io.send(pages)
        assert wait_for(lambda: io.count(ads_alias) > 0, timeout=180, interval=0.1), worker.log()[-3000:]
        sigkill(private_broker)
        killed_at = time.monotonic()
        indexed_at_kill = io.count(ads_alias)
        assert indexed_at_kill < TOTAL, f"killed too late to be mid-stream ({indexed_at_kill} indexed)"

        time.sleep(10)
        assert worker.alive(), "the worker exited while the broker was down:\n" + worker.log()[-3000:]

        private_broker.start()
        private_broker.wait_ready(180)
        restarted_at = time.monotonic()
        io.close()
        io = Stack(settings)
        assert wait_for(lambda: io.caught_up("g-broker"), timeout=240, interval=1.0), worker.log()[-3000:]
        caught_up_at = time.monotonic()
        assert worker.alive(), worker.log()[-3000:]

        ads = io.docs(ads_alias)
        assert len(ads) == TOTAL, f"{TOTAL - len(ads)} ads lost"
        assert {doc["seen_count"] for doc in ads.values()} == {1}, "a re-delivered record was counted twice"
        events = io.read(settings.kafka.topics.ad_events)
        per_ad: dict[str, set[str]] = {}
        for event in events:
            per_ad.setdefault(event["ad_key"], set()).add(event["event_id"])
        assert set(per_ad) == set(ads) and all(len(ids) == 1 for ids in per_ad.values()), (
            "an ad.new lost, or sent with a new id"
        )
        print(
            f"\nbroker SIGKILLed with {indexed_at_kill}/{TOTAL} ads indexed; down {restarted_at - killed_at:.1f} s "
            f"(restart included); caught up {caught_up_at - restarted_at:.1f} s after the restart; "
            f"{len(events)} events for {len(per_ad)} ads (a re-sent event repeats its id)"
        )
        assert worker.stop() == 0
    finally:
        if worker.alive():
            worker.kill()
        print(worker.log()[-2000:])
        io.close()
