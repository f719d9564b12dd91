"""End to end on the real stack: the fixture board crawled into Kafka, enriched into Elasticsearch.

The expected entities and indicators of each ad are written next to the ad itself in
tests/fixture_site/ads.yaml, so the board and the assertions cannot drift apart. Real ads (the DIG
sample, marked ``real``) are checked only on the fields their data set states: their phones.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import vigil_executable
from tests.fixture_site import FixtureSite
from tests.helpers import wait_for
from tests.integration.test_crawl import board_profile, run_json, write_profile

pytestmark = pytest.mark.integration

ENTITY_FIELDS = ("phones", "emails", "wallets", "handles", "ages")


def _ads(es, alias: str) -> dict[str, dict]:
    es.indices.refresh(index=alias)
    hits = es.search(index=alias, size=500, query={"match_all": {}})["hits"]["hits"]
    return {hit["_id"]: hit["_source"] for hit in hits}


def test_fixture_board_becomes_searchable_ads_and_entities(vigil_env, tmp_path):
    from vigil.core.elastic import client

    settings = vigil_env.settings
    es = client(settings.es)
    with FixtureSite() as site:
        board = [ad for ad in site.ads if not ad.get("js_only")]
        profile = write_profile(tmp_path, board_profile(site))
        result, summary = run_json(vigil_env, profile, "--job-id", "job-e2e")
    assert result.returncode == 0, result.stderr[-3000:]
    assert summary["ads"] == len(board)

    log = open(tmp_path / "enrich.log", "wb")  # noqa: SIM115 - closed below
    worker = subprocess.Popen(
        [vigil_executable(), "worker", "enrich", "--group", f"e2e-{vigil_env.uid}"],
        env=vigil_env.env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        alias = settings.es.indices.ads
        assert wait_for(lambda: len(_ads(es, alias)) >= len(board), timeout=180), (
            (tmp_path / "enrich.log").read_text()[-4000:]
        )
    finally:
        worker.terminate()
        assert worker.wait(timeout=60) == 0, (tmp_path / "enrich.log").read_text()[-4000:]
        log.close()

    docs = _ads(es, settings.es.indices.ads)
    assert sorted(docs) == sorted(f"fixture-board:{ad['id']}" for ad in board)
    wrong: list[tuple] = []
    for ad in board:
        doc = docs[f"fixture-board:{ad['id']}"]
        assert doc["network"] == "clearnet" and doc["job_id"] == "job-e2e"
        expected = ad.get("expected")
        if expected is None:
            assert doc["text"], f"real ad {ad['id']} was indexed without text"
            continue
        # A real ad's `expected` holds only what its data set states; the project's ads state everything.
        real = ad.get("real", False)
        for field in ENTITY_FIELDS:
            if real and field not in expected:
                continue
            if sorted(doc[field]) != sorted(expected.get(field, [])):
                wrong.append((ad["id"], field, doc[field], expected.get(field, [])))
        stated = set(expected.get("indicators", []))
        found = set(doc["indicator_ids"])
        # A real ad's list names what must fire; the project's ads list every indicator they state,
        # so anything more is a false indicator.
        if (stated - found) or (not real and found - stated):
            wrong.append((ad["id"], "indicators", sorted(found), sorted(stated)))
        if (not real or "escalate" in expected) and doc["escalate"] != expected.get("escalate", False):
            wrong.append((ad["id"], "escalate", doc["escalate"], doc["indicator_ids"]))
        if expected.get("obfuscated_phone") and not any(
            e["obfuscated"] for e in doc["entities"] if e["type"] == "phone"
        ):
            wrong.append((ad["id"], "obfuscated", False, True))
    assert not wrong, "\n".join(map(repr, wrong))

    entities = _ads(es, settings.es.indices.entities)
    for ad in board:
        for phone in ad.get("expected", {}).get("phones", []):
            entity = entities[f"phone:{phone}"]
            assert f"fixture-board:{ad['id']}" in entity["ad_keys"]
            assert entity["sites"] == ["fixture-board"]
    hits = es.search(index=settings.es.indices.ads, query={"term": {"phones": "+31612345678"}})["hits"]
    assert hits["total"]["value"] >= 1, "an analyst finds the Dutch ad by its normalised phone"
