"""`vigil search` and `vigil entity` against the real Elasticsearch, on demo-like and real ads."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from vigil.app.demo.ads import sample_documents
from vigil.app.demo.seed import index

pytestmark = pytest.mark.integration


@pytest.fixture
def seeded(vigil_env):
    docs = sample_documents(200)
    index(vigil_env.settings.es, docs)
    vigil_env.docs = docs
    return vigil_env


def _json(result) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_search_shows_highlighted_matches_in_a_table(seeded):
    result = seeded.run("search", "Reisepass")
    assert result.returncode == 0, result.stderr
    expected = sum("Reisepass" in d.text for d in seeded.docs)
    assert expected > 0
    assert f"{expected} ads match" in result.stdout
    assert "Reisepass" in result.stdout


def test_search_json_applies_country_risk_indicator_and_since(seeded):
    found = _json(seeded.run("search", "*", "--country", "nl", "--min-risk", "50", "--json", "-n", "500"))
    expected = [d for d in seeded.docs if d.country == "NL" and d.risk >= 50]
    assert found["total"] == len(expected) > 0
    assert {h["ad_key"] for h in found["hits"]} == {d.ad_key for d in expected}

    organ = _json(seeded.run("search", "*", "--indicator", "organ_offer", "--since", "30d", "--json"))
    assert {h["ad_key"] for h in organ["hits"]} == {
        d.ad_key for d in seeded.docs if "organ_offer" in d.indicator_ids
    }
    assert all(h["escalate"] for h in organ["hits"])

    future = _json(seeded.run("search", "*", "--since", "2999-01-01", "--json"))
    assert future == {"total": 0, "hits": []}


def test_search_highlights_in_json(seeded):
    found = _json(seeded.run("search", "Paspoort", "--json", "-n", "1"))
    assert any("<mark>Paspoort</mark>" in f for f in found["hits"][0]["highlights"]["text"])


def test_search_json_highlights_are_html_escaped(vigil_env):
    """An ad whose title and text carry markup: --json fragments hold it as inert, escaped text."""
    doc = sample_documents(1)[0]
    payload = '<img src="http://127.0.0.1:9/pixel"> Tracker'
    doc = doc.model_copy(update={"title": f"{payload} title", "text": f"{payload} text {doc.text}"})
    index(vigil_env.settings.es, [doc])
    found = _json(vigil_env.run("search", "Tracker", "--json"))
    fragments = [f for h in found["hits"] for frags in h["highlights"].values() for f in frags]
    assert fragments and all("<img" not in f for f in fragments), fragments
    assert any("&lt;img src=" in f and "&gt; <mark>Tracker</mark>" in f for f in fragments), fragments
    vigil_env.env["COLUMNS"] = "300"
    table = vigil_env.run("search", "Tracker")
    assert table.returncode == 0 and "<img src=" in table.stdout and "&lt;" not in table.stdout, table.stdout


@pytest.mark.parametrize(
    "query", ['"unbalanced (((', "title:[broken TO", "\\", "a AND OR NOT ~~~ ***", "/regex["]
)
def test_malformed_queries_never_raise(seeded, query):
    result = seeded.run("search", query, "--json")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "total" in json.loads(result.stdout)


def test_bad_filters_are_clear_errors(seeded):
    result = seeded.run("search", "x", "--since", "last tuesday")
    assert result.returncode == 2
    assert "--since" in result.stderr and "Traceback" not in result.stderr


def test_missing_index_is_a_clear_error(seeded, tmp_path):
    config = tmp_path / "other.yaml"
    config.write_text(
        seeded.config_path.read_text().replace(seeded.settings.es.indices.ads, f"test-{seeded.uid}-absent")
    )
    result = seeded.run("--config", str(config), "search", "x")
    assert result.returncode == 1
    assert "vigil init" in result.stderr and "Traceback" not in result.stderr


def test_search_finds_a_phone_typed_as_printed(seeded):
    found = _json(seeded.run("search", "0151 1234 5678", "--region", "DE", "--json", "-n", "100"))
    expected = {d.ad_key for d in seeded.docs if "+4915112345678" in d.phones}
    assert expected and expected <= {h["ad_key"] for h in found["hits"]}


def _oracle(docs, kind_field: str, value: str):
    """Hop-1 and hop-2 neighbours computed by brute force over the documents."""

    def values(doc):
        return {(k, v) for k, vs in doc.entity_values().items() for v in vs}

    seed = [d for d in docs if value in getattr(d, kind_field)]
    hop0 = {("phone", value)}
    hop1 = set().union(*(values(d) for d in seed)) - hop0
    linked = [d for d in docs if d not in seed and values(d) & hop1]
    hop2 = set().union(*(values(d) for d in linked)) - hop1 - hop0 if linked else set()
    return seed, hop1, hop2


def test_entity_normalises_and_walks_two_hops(seeded):
    profile = _json(seeded.run("entity", "0151 12345678", "--region", "DE", "--json"))
    assert (profile["type"], profile["value"]) == ("phone", "+4915112345678")
    seed, hop1, hop2 = _oracle(seeded.docs, "phones", "+4915112345678")
    assert profile["total_ads"] == len(seed)
    assert set(profile["countries"]) == {d.country for d in seed} == {"DE", "FR", "NL"}
    assert set(profile["sites"]) == {d.profile_id for d in seed}
    assert profile["first_seen"][:19] == min(d.first_seen for d in seed).strftime("%Y-%m-%dT%H:%M:%S")
    got = {(n["type"], n["value"]): n["hop"] for n in profile["neighbours"]}
    assert {k for k, hop in got.items() if hop == 1} == hop1
    assert {k for k, hop in got.items() if hop == 2} == hop2
    assert ("phone", "+31612345678") in hop2  # the rotation network's other phone, via the shared wallet


def test_entity_table_and_unknown_values(seeded):
    table = seeded.run("entity", "werk.agentur@MAIL.example")
    assert table.returncode == 0, table.stderr
    assert "werk.agentur@mail.example" in table.stdout and "co-occurring" in table.stdout

    unknown = seeded.run("entity", "not an entity")
    assert unknown.returncode == 2 and "not recognised" in unknown.stderr

    unseen = seeded.run("entity", "+33 6 99 99 99 99")
    assert unseen.returncode == 0 and "not seen in any ad" in unseen.stdout


def test_entity_on_real_ads(vigil_env, shared_data):
    """Real escort ads (dig-ads) whose phone recurs in two cities, extracted by the real normaliser."""
    from elasticsearch import helpers

    from vigil.core.elastic import client
    from vigil.core.entities import find_entities
    from vigil.core.records import AdDocument

    raw = json.loads((shared_data / "ads-sample.json").read_text(encoding="utf-8"))
    docs = []
    for ad in raw:
        entities = find_entities(f"{ad['title']}\n{ad['text']}", region="US")
        docs.append(
            AdDocument(
                ad_key=f"dig:{ad['id']}",
                profile_id="dig-ads",
                url=ad["url"],
                canonical_url=ad["url"],
                country="US",
                location=ad["city"],
                title=ad["title"],
                text=ad["text"],
                entities=entities,
                phones=sorted({e.value for e in entities if e.type == "phone"}),
                first_seen=datetime.now(UTC),
                last_seen=datetime.now(UTC),
            )
        )
    es = client(vigil_env.settings.es)
    helpers.bulk(
        es,
        (
            {
                "_index": vigil_env.settings.es.indices.ads,
                "_id": d.ad_key,
                "_source": d.model_dump(mode="json"),
            }
            for d in docs
        ),
        refresh="wait_for",
    )
    shared = [d for d in docs if "+16626713052" in d.phones]
    assert len(shared) >= 2

    profile = _json(vigil_env.run("entity", "662.671.3052", "--region", "US", "--json"))
    assert profile["value"] == "+16626713052"
    assert profile["total_ads"] == len(shared)
    assert {a["ad_key"] for a in profile["ads"]} == {d.ad_key for d in shared}
