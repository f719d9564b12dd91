"""The indexer's bounds against the real Elasticsearch (issue 12): bulks cut by bytes, documents
trimmed below the nested-object limit, and a document Elasticsearch refuses for good returned per
record with its cause while the rest of the batch is written."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipelines.indexer import Indexer, Observation
from vigil.core.config import LimitsSettings
from vigil.core.elastic import client
from vigil.core.metrics import LIMITS_HIT
from vigil.core.records import AdDocument, Entity, doc_id

pytestmark = pytest.mark.integration


def ad(n: int, **fields) -> AdDocument:
    return AdDocument(
        ad_key=f"site:{n}", profile_id="site", url=f"http://127.0.0.1/ad/{n}", canonical_url=f"http://127.0.0.1/ad/{n}",
        record_id=f"rec-{n}", fetched_at=datetime(2026, 12, 1, tzinfo=UTC), content_hash=str(n), **fields,
    )  # fmt: skip


def test_bulks_by_bytes_trimmed_documents_and_a_permanent_rejection_per_record(vigil_env):
    settings = vigil_env.settings
    es = client(settings.es)
    try:
        limits = LimitsSettings(bulk_bytes=64 * 1024, nested_objects=1000)
        indexer = Indexer(es, settings.es.indices, limits)
        many = [Entity(type="email", value=f"u{n}@x.com", raw=f"u{n}@x.com", start=n, end=n + 1) for n in range(12000)]
        observations = [Observation(ad(n, text="companion " * 2000)) for n in range(20)]
        observations.append(Observation(ad(20, entities=many, emails=["u0@x.com"])))
        # An offset past a 32-bit integer: Elasticsearch refuses the document (document_parsing_exception).
        poisoned = Entity(type="email", value="p@x.com", raw="p@x.com", start=2**40, end=2**40 + 7)
        observations.append(Observation(ad(21, entities=[poisoned], emails=["p@x.com"])))

        splits_before = LIMITS_HIT.labels("bulk_bytes")._value.get()
        result = indexer.index(observations)
        assert LIMITS_HIT.labels("bulk_bytes")._value.get() - splits_before >= 5, "the batch went in one bulk"

        assert set(result.failed) == {"rec-21"}
        assert "parsing_exception" in result.failed["rec-21"] and "entities.start" in result.failed["rec-21"]
        assert result.rejected[0].status == 400
        ads_alias = settings.es.indices.ads
        es.indices.refresh(index=ads_alias)
        assert es.count(index=ads_alias)["count"] == 21
        big = es.get(index=ads_alias, id=doc_id("site:20"))["_source"]
        assert len(big["entities"]) == 1000 and big["analysis_truncated"] and "nested_objects" in big["truncated_by"]
    finally:
        es.close()
