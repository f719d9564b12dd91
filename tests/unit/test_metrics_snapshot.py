"""A crawl's child process hands its counters to the crawl worker, which serves /metrics."""

from __future__ import annotations

from vigil.core import metrics


def value(counter, **labels) -> float:
    return counter.labels(**labels)._value.get()


def test_a_snapshot_added_elsewhere_moves_the_same_counters():
    before = value(metrics.PAGES_FETCHED, profile="snap", network="tor")
    metrics.PAGES_FETCHED.labels(profile="snap", network="tor").inc(3)
    snapshot = [s for s in metrics.counter_snapshot() if s[1].get("profile") == "snap"]
    assert snapshot == [("vigil_pages_fetched", {"profile": "snap", "network": "tor"}, before + 3)]
    metrics.add_counts([("vigil_pages_fetched", {"profile": "snap", "network": "tor"}, 2.0), ("no_such", {}, 1.0)])
    assert value(metrics.PAGES_FETCHED, profile="snap", network="tor") == before + 5
