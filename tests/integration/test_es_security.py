"""Elasticsearch security on the local stack (``stack.es_security``): skipped on an open stack.

No request without credentials; the generated credentials file is 0600; the analyst role cannot
read an ad escalated for review (document-level security), cannot write ads, and can write the
audit trail; the writer can write.
"""

from __future__ import annotations

import pytest

from vigil.app.stack import es_security

pytestmark = pytest.mark.integration


@pytest.fixture
def secured(vigil_env):
    settings = vigil_env.settings
    if not settings.stack.es_security or es_security.unsecured(settings.es.urls[0]):
        pytest.skip("the local Elasticsearch runs without security (stack.es_security: false)")
    return es_security.load(settings)


def as_user(settings, user: str, credentials: dict):
    from vigil.core.elastic import client

    return client(settings.es, basic_auth=(user, credentials["users"][user]), api_key=None)


def test_unauthenticated_requests_are_refused_and_credentials_are_private(vigil_env, secured):
    url = vigil_env.settings.es.urls[0]
    for path in ("/_cluster/health", f"/{vigil_env.settings.es.indices.ads}/_search"):
        status, _ = es_security.request(url + path)
        assert status == 401, path
    path = es_security.credentials_path(vigil_env.settings)
    assert path.stat().st_mode & 0o777 == 0o600
    assert secured["license"] in ("trial", "platinum", "enterprise")


def test_analyst_cannot_read_escalated_ads(vigil_env, secured):
    from elasticsearch import ApiError

    settings = vigil_env.settings
    ads, alerts = settings.es.indices.ads, settings.es.indices.alerts
    writer = as_user(settings, "vigil-writer", secured)
    writer.index(index=ads, id="s:1", document={"title": "open ad", "text": "plain", "url": "http://a/1"})
    writer.index(
        index=ads,
        id="s:2",
        document={"title": "minor case", "text": "MINORTEXT", "url": "http://a/2", "escalate": True},
    )
    writer.index(index=alerts, id="a2", document={"ad_key": "s:2", "url": "http://a/2", "escalated": True})
    writer.indices.refresh(index=f"{ads},{alerts}")

    analyst = as_user(settings, "vigil-analyst", secured)
    seen = analyst.search(index=ads, query={"match_all": {}})["hits"]["hits"]
    assert [hit["_id"] for hit in seen] == ["s:1"]
    assert analyst.search(index=ads, query={"match": {"text": "MINORTEXT"}})["hits"]["total"]["value"] == 0
    assert analyst.search(index=alerts, query={"match_all": {}})["hits"]["hits"] == []
    with pytest.raises(ApiError) as refused:
        analyst.index(index=ads, id="s:3", document={"title": "x"})
    assert refused.value.meta.status == 403
    analyst.index(index=settings.es.indices.audit, document={"action": "test"}, require_alias=True)

    admin = as_user(settings, "vigil-admin", secured)
    assert admin.get(index=ads, id="s:2")["_source"]["text"] == "MINORTEXT"
