"""The bounds of issue 12: what one hostile page can cost the analyser and the indexer.

Pure functions and the indexer's bulk splitting (against a stand-in client that answers as
Elasticsearch does: a 413 for a request over its size limit); the real-stack run of the hostile
corpus is tests/integration/test_hostile_corpus.py.
"""

from __future__ import annotations

import hashlib
import json
import random
import time

import pytest

from pipelines.analysis import analyze
from pipelines.indexer import Indexer, Observation, bounded_document
from vigil.core.config import Indices, LimitsSettings
from vigil.core.entities import bound_occurrences, scan_entities
from vigil.core.entities.spans import Spans, masked
from vigil.core.records import AdDocument, Entity, RawPage


def page(body: str, **overrides) -> RawPage:
    values = dict(
        profile_id="site", job_id="job-1", url="https://site.example/ad/7", canonical_url="https://site.example/ad/7",
        final_url="https://site.example/ad/7", status=200, content_type="text/html", page_type="ad", country="NL",
        ad_id="7", body=body, body_sha256=hashlib.sha256(body.encode("utf-8", "replace")).hexdigest(),
    )  # fmt: skip
    values.update(overrides)
    return RawPage(**values)


def test_spans_answer_like_a_linear_search():
    rng = random.Random(12)
    for _ in range(50):
        spans = [(a, a + rng.randint(1, 30)) for a in (rng.randint(0, 500) for _ in range(rng.randint(0, 40)))]
        index = Spans(spans)
        for _ in range(50):
            start = rng.randint(0, 550)
            end = start + rng.randint(1, 20)
            assert index.overlaps(start, end) == any(s < end and start < e for s, e in spans)


def test_masked_keeps_offsets():
    text = "mail anna@example.com or call 0612345678"
    blank = masked(text, [(5, 21), (3, 8)])
    assert len(blank) == len(text) and "@" not in blank and blank.endswith("0612345678")


def test_occurrences_are_bounded_per_value_and_per_type():
    entities = [Entity(type="email", value=f"a{n % 7}@x.com", start=n, end=n + 1) for n in range(100)]
    scan = bound_occurrences(entities, spans_per_value=2, values_per_type=5)
    values = [e.value for e in scan.entities]
    assert sorted(set(values)) == [f"a{n}@x.com" for n in range(5)]
    assert all(values.count(v) == 2 for v in set(values))
    assert scan.truncated == {"entity_spans_per_value", "entity_values_per_type"}


def test_fifteen_thousand_addresses_are_scanned_in_bounded_time():
    """Was quadratic: 4,000 e-mails took ~1 s and a 100,000-character page 7.6 s."""
    text = " ".join(f"user{n}@example{n % 50}.com call 06{n:08d}" for n in range(15000))
    started = time.process_time()
    scan = scan_entities(text, "NL", spans_per_value=5, values_per_type=200)
    seconds = time.process_time() - started
    emails = [e for e in scan.entities if e.type == "email"]
    assert len(emails) == 200 and emails[0].value == "user0@example0.com"
    assert {"entity_values_per_type"} <= scan.truncated
    assert seconds < 20, f"{seconds:.1f} s of CPU for 15,000 addresses"


def test_one_address_repeated_twelve_thousand_times_keeps_its_first_spans():
    text = "lola@example.com " * 12500
    scan = scan_entities(text, None, spans_per_value=3, values_per_type=10)
    assert [(e.value, e.start) for e in scan.entities] == [("lola@example.com", n * 17) for n in range(3)]
    assert scan.truncated == {"entity_spans_per_value"}


def test_analysis_reports_the_bounds_it_applied():
    body = "<html><body><p>" + "Nieuw in de stad, jong meisje. " * 400 + "mail lola@example.com " * 50 + "</p></body></html>"
    limits = LimitsSettings(text_chars=5000, entity_spans_per_value=2, evidence_spans=3)
    doc = analyze(page(body, fields={"title": "T" * 70000}), limits)
    assert doc.analysis_truncated
    assert {"text_chars", "field_chars", "evidence_spans"} <= set(doc.truncated_by)
    assert len(doc.text) == 5000 and len(doc.title) <= 1000
    assert all(len(hit.evidence) <= 3 for hit in doc.indicators)
    assert analyze(page("<p>Bel 0612345678</p>")).analysis_truncated is False


def test_a_page_past_its_cpu_budget_is_analysed_on_a_prefix_and_marked():
    body = "<html><body><p>" + " ".join(f"06{n:08d} new girl in town" for n in range(5000)) + "</p></body></html>"
    doc = analyze(page(body), LimitsSettings(analysis_seconds=0.01))
    assert doc.analysis_truncated and "analysis_seconds" in doc.truncated_by
    assert doc.text and doc.content_hash


def ad(**fields) -> AdDocument:
    return AdDocument(ad_key="site:1", profile_id="site", url="http://x/1", canonical_url="http://x/1", **fields)


def test_a_document_over_the_nested_limit_or_the_size_limit_is_trimmed():
    entities = [Entity(type="email", value=f"u{n}@x.com", raw=f"u{n}@x.com", start=n, end=n + 1) for n in range(12000)]
    limits = LimitsSettings(nested_objects=1000, document_bytes=64 * 1024)
    trimmed = bounded_document(ad(text="y" * 300_000, entities=entities, metadata={"d": "z" * 100_000}), limits)
    assert len(trimmed.entities) <= 1000
    assert len(trimmed.to_bytes()) <= 64 * 1024
    assert trimmed.analysis_truncated and {"nested_objects", "document_bytes"} <= set(trimmed.truncated_by)
    small = ad(text="hello")
    assert bounded_document(small, limits) is small


def bulk_pair(action: dict, source: dict) -> tuple[dict, bytes]:
    """What the indexer bulks: the action and its serialised action and source lines."""
    return action, json.dumps(action).encode() + b"\n" + json.dumps(source).encode() + b"\n"


class BulkLimitedES:
    """Answers bulks like Elasticsearch with ``http.max_content_length`` = ``limit`` bytes."""

    def __init__(self, limit: int):
        self.limit = limit
        self.requests: list[int] = []

    def bulk(self, operations: bytes):
        from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
        from elasticsearch import ApiError

        size = len(operations)
        self.requests.append(size)
        if size > self.limit:
            meta = ApiResponseMeta(413, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "127.0.0.1", 9200))
            raise ApiError("Request Entity Too Large", meta, None)
        items = []
        for line in operations.splitlines()[::2]:
            ((name, target),) = json.loads(line).items()
            items.append({name: {"_index": target["_index"], "_id": target["_id"], "status": 201}})
        return {"items": items}


def test_bulks_are_cut_by_bytes_and_a_413_splits_until_one_document_is_refused_alone():
    es = BulkLimitedES(limit=200_000)
    indexer = Indexer(es, Indices(), LimitsSettings(bulk_bytes=10 * 1024 * 1024, document_bytes=4 * 1024 * 1024))
    writes = [bulk_pair({"create": {"_index": "a", "_id": str(n)}}, {"text": "x" * 30_000}) for n in range(20)]
    writes.append(bulk_pair({"create": {"_index": "a", "_id": "huge"}}, {"text": "x" * 300_000}))
    items = [item for chunk in indexer._chunks(writes) for item in indexer._bulk(chunk)]
    assert [next(iter(i.values()))["_id"] for i in items] == [*map(str, range(20)), "huge"]
    assert [next(iter(i.values()))["status"] for i in items] == [201] * 20 + [413]
    assert max(size for size in es.requests if size <= es.limit) <= es.limit

    chunked = Indexer(es, Indices(), LimitsSettings(bulk_bytes=100_000))
    assert [len(c) for c in chunked._chunks(writes[:10])] == [3, 3, 3, 1]


@pytest.mark.parametrize("status", [400])
def test_a_rejected_ad_comes_back_with_its_record_id_and_cause(status):
    from pipelines.indexer import IndexResult, Rejection

    observation = Observation(ad(record_id="rec-1"))
    result = IndexResult(rejected=[Rejection(observation, "mapper_parsing_exception", f"{status}: bad", status)])
    assert result.failed == {"rec-1": f"mapper_parsing_exception: {status}: bad"}


def test_limits_come_from_the_file_and_the_environment(tmp_path, monkeypatch):
    from vigil.core.config import ConfigError, load_settings

    config = tmp_path / "vigil.yaml"
    config.write_text("limits:\n  text_chars: 50000\n  bulk_bytes: 1048576\n")
    monkeypatch.setenv("VIGIL_LIMITS_ANALYSIS_SECONDS", "2.5")
    settings = load_settings(config)
    assert settings.limits.text_chars == 50000 and settings.limits.bulk_bytes == 1048576
    assert settings.limits.analysis_seconds == 2.5
    config.write_text("limits:\n  nested_objects: 20000\n")
    with pytest.raises(ConfigError, match="limits.nested_objects"):
        load_settings(config)
