"""The indexer's memory of what it wrote (issue 18) against the real Elasticsearch: a worker whose
remembered copy of an ad and of an entity is stale (another worker wrote since) gets a version
conflict, reads again and counts right; a re-delivery answered from memory changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipelines.indexer import Indexer, Observation
from vigil.core.elastic import client
from vigil.core.records import AdDocument, Entity, doc_id

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 1, tzinfo=UTC)
PHONE = "+17025550100"


def ad(record_id: str, at: datetime, text: str = "hello", key: str = "site:1") -> AdDocument:
    return AdDocument(
        ad_key=key, profile_id="site", url="http://127.0.0.1/ad/1", canonical_url="http://127.0.0.1/ad/1",
        record_id=record_id, fetched_at=at, text=text, content_hash=text, phones=[PHONE],
        entities=[Entity(type="phone", value=PHONE)],
    )  # fmt: skip


def statuses(indexer: Indexer, *docs: AdDocument) -> dict[str, str]:
    """ad key -> status (outcomes come in the order their rounds settled them)."""
    return {
        o.observation.doc.ad_key: o.status for o in indexer.index([Observation(d) for d in docs]).outcomes
    }


def test_stale_memory_costs_a_conflict_not_a_lost_update(vigil_env):
    settings = vigil_env.settings
    es = client(settings.es)
    try:
        one = Indexer(es, settings.es.indices)
        two = Indexer(es, settings.es.indices)
        assert statuses(one, ad("r1", T0)) == {"site:1": "new"}
        assert statuses(two, ad("r2", T0 + timedelta(hours=1))) == {"site:1": "seen"}
        # one still remembers seen_count 1 and the entity with one ad: its write conflicts, it reads again
        # site:2 is written in the first round, its entity (shared with site:1) conflicts: it stays "new"
        again = statuses(one, ad("r3", T0 + timedelta(hours=2), text="changed"), ad("r1", T0, key="site:2"))
        assert again == {"site:1": "changed", "site:2": "new"}
        assert statuses(one, ad("r3", T0 + timedelta(hours=2), text="changed")) == {"site:1": "duplicate"}
        assert statuses(two, ad("r2", T0 + timedelta(hours=1))) == {"site:1": "duplicate"}

        stored = es.get(index=settings.es.indices.ads, id=doc_id("site:1"))["_source"]
        assert stored["seen_count"] == 3 and stored["record_ids"] == ["r1", "r2", "r3"]
        assert stored["first_seen"].startswith("2026-12-01T00:00") and stored["text"] == "changed"
        entity = es.get(index=settings.es.indices.entities, id=doc_id(f"phone:{PHONE}"))["_source"]
        assert entity["ad_count"] == 2 and sorted(entity["ad_keys"]) == ["site:1", "site:2"]
    finally:
        es.close()


def test_an_ad_created_unread_is_announced_after_its_create_and_never_lost(vigil_env):
    """A new ad is created without a read and announced once the create succeeded; an announcement
    that failed (Kafka down) or never happened (the worker died) is made again when the record
    comes back, to the same worker or to another one; any other record of the ad is no new ad."""
    settings = vigil_env.settings
    es = client(settings.es)
    ads_alias = settings.es.indices.ads
    announced: list[tuple[str, str, bool]] = []

    def before_write(outcomes):
        for o in outcomes:
            exists = es.exists(index=ads_alias, id=doc_id(o.observation.doc.ad_key), realtime=True).body
            announced.append((o.observation.doc.ad_key, o.status, exists))

    def failing(outcomes):
        if any(o.status == "new" for o in outcomes):
            raise ConnectionError("Kafka is down")

    try:
        one = Indexer(es, settings.es.indices)
        with pytest.raises(ConnectionError):
            one.index([Observation(ad("r1", T0))], before_write=failing)
        assert es.exists(index=ads_alias, id=doc_id("site:1")).body, "the create went through"

        result = one.index([Observation(ad("r1", T0))], before_write=before_write)
        assert [o.status for o in result.outcomes] == ["new"]
        assert announced == [("site:1", "new", True)], "announced after the create, not before"

        restarted = Indexer(es, settings.es.indices)
        assert statuses(restarted, ad("r1", T0)) == {"site:1": "new"}, "a died worker's ad.new comes again"
        assert statuses(restarted, ad("r1", T0)) == {"site:1": "duplicate"}
        announced.clear()
        result = restarted.index(
            [Observation(ad("r2", T0 + timedelta(hours=1), text="new text"))], before_write=before_write
        )
        assert [o.status for o in result.outcomes] == ["changed"]
        assert announced == [("site:1", "changed", True)]
        assert statuses(Indexer(es, settings.es.indices), ad("r1", T0)) == {"site:1": "duplicate"}

        twice = Indexer(es, settings.es.indices)
        assert statuses(
            twice, ad("r5", T0, key="site:5"), ad("r6", T0 + timedelta(hours=1), key="site:5")
        ) == {"site:5": "seen"}
        stored = es.get(index=ads_alias, id=doc_id("site:1"))["_source"]
        assert (
            stored["seen_count"] == 2
            and stored["record_ids"] == ["r1", "r2"]
            and stored["text"] == "new text"
        )
        assert es.get(index=ads_alias, id=doc_id("site:5"))["_source"]["seen_count"] == 2
    finally:
        es.close()
