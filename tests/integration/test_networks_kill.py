"""kill -9 of the network worker mid-batch (issue 12's fault matrix: each worker kind).

The enrich worker has written the synthetic corpus of eval/ and its link records; the network
worker is SIGKILLed once it has linked part of them, and a new one takes over the group. Then
every ad carries a network id, the group has committed every link record, and each network
document counts exactly the ads that carry its id (a batch observed twice counted nothing twice).
The other worker kinds are killed in test_enrich_worker.py, test_scale_out.py (crawl and enrich),
test_alert_states.py (alerts) and test_cluster.py.
"""

from __future__ import annotations

import signal
import time
from collections import Counter

import pytest

from tests.helpers import wait_for
from tests.integration.test_networks import Procs, ad_networks, caught_up, corpus_pages, network_docs, send

pytestmark = pytest.mark.integration


@pytest.mark.timeout(420)
def test_kill_9_of_the_network_worker_mid_batch_loses_and_counts_nothing_twice(vigil_env, tmp_path):
    from vigil.core.elastic import client

    settings = vigil_env.settings
    topics = settings.kafka.topics
    group = settings.networks.group_id
    pages = corpus_pages()
    procs = Procs(tmp_path)
    es = client(settings.es)
    try:
        procs.start(vigil_env.env, "worker", "enrich", "--group", "k-enrich")
        send(settings, pages)
        assert wait_for(
            lambda: (
                caught_up(settings, "k-enrich", topics.pages_raw)
                and len(ad_networks(es, settings.es.indices.ads)) == len(pages)
            ),
            timeout=240,
            interval=2,
        ), procs.logs()

        first = procs.start(vigil_env.env, "worker", "networks", "--batch-size", "5")

        def linked() -> int:
            return sum(1 for nid in ad_networks(es, settings.es.indices.ads).values() if nid)

        assert wait_for(lambda: linked() > 0, timeout=180, interval=0.2), procs.logs()
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        linked_at_kill = linked()
        killed_at = time.monotonic()
        assert linked_at_kill < len(pages), f"killed too late ({linked_at_kill} of {len(pages)} linked)"
        assert not caught_up(settings, group, topics.network_links), "nothing left for the new worker"

        procs.start(vigil_env.env, "worker", "networks", "--batch-size", "5")

        def done() -> bool:
            found = ad_networks(es, settings.es.indices.ads)
            return None not in found.values() and caught_up(settings, group, topics.network_links)

        assert wait_for(done, timeout=240, interval=2), procs.logs()
        took = time.monotonic() - killed_at
        carried = Counter(ad_networks(es, settings.es.indices.ads).values())
        networks = network_docs(es, settings.es.indices.networks)
        assert networks, "no network document written"
        miscounted = {
            nid: (doc["size"], carried[nid]) for nid, doc in networks.items() if doc["size"] != carried[nid]
        }
        assert not miscounted, f"network -> (size, ads carrying its id): {miscounted}"
        print(
            f"\nnetwork worker SIGKILLed with {linked_at_kill}/{len(pages)} ads linked; the next one finished "
            f"{took:.1f} s later; {len(networks)} networks, sizes {sorted((d['size'] for d in networks.values()), reverse=True)}"
        )
    finally:
        procs.stop()
        print(procs.logs()[-4000:])
        es.close()
