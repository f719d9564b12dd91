"""The image worker's decisions before any request: Tor, escalation and opt-in are checked on
the event and on the ad as indexed; a refused ad never reaches the fetcher."""

from __future__ import annotations

import pytest

from pipelines.image_worker import ImageHandler
from vigil.core.config import Settings
from vigil.core.profiles import parse_profile
from vigil.core.records import AdEvent

PROFILE = {"id": "board", "start_urls": ["http://127.0.0.1:8700/"], "ads": {"url_regex": r"/ad/\d+"}}


class NoFetch:
    def fetch(self, url, policy):
        raise AssertionError(f"fetched {url}")


class StaticProfiles:
    def __init__(self, profile):
        self.profile = profile

    def get(self, profile_id):
        return self.profile


class OneAd:
    """The few Elasticsearch calls the handler makes for one stored ad: each read returns the next
    of ``sources`` (the last one stays), ``escalated_versions`` is what the versions index counts."""

    def __init__(self, *sources, escalated_versions: int = 0):
        self.sources = list(sources)
        self.escalated_versions = escalated_versions

    def options(self, **_):
        return self

    def get(self, **_):
        source = self.sources.pop(0) if len(self.sources) > 1 else self.sources[0]
        return {"found": True, "_index": "ads-1", "_seq_no": 1, "_primary_term": 1, "_source": source}

    def count(self, index, query, **_):
        assert index == Settings().es.indices.ad_versions
        assert {"term": {"escalate": True}} in query["bool"]["filter"]
        return {"count": self.escalated_versions}


def handler(profile: dict | None, source: dict | None = None, es: OneAd | None = None) -> ImageHandler:
    profiles = StaticProfiles(parse_profile(profile) if profile else None)
    return ImageHandler(Settings(), es or OneAd(source or {}), profiles, fetcher=NoFetch())


def event(**fields) -> AdEvent:
    return AdEvent(event_type="ad.new", ad_key="board:1", profile_id="board", url="http://x/ad/1", **fields)


ENABLED = {**PROFILE, "images": {}}
INDEXED = {"network": "clearnet", "escalate": False, "image_urls": ["http://x/1.jpg"]}


@pytest.mark.parametrize(
    ("profile", "ev", "source", "outcome"),
    [
        (ENABLED, event(network="tor"), INDEXED, "skipped_tor"),
        (ENABLED, event(escalate=True), INDEXED, "skipped_escalated"),
        (ENABLED, event(), {**INDEXED, "network": "tor"}, "skipped_tor"),
        (ENABLED, event(), {**INDEXED, "escalate": True}, "skipped_escalated"),
        (PROFILE, event(), INDEXED, "not_enabled"),
        (None, event(), INDEXED, "not_enabled"),
        (ENABLED, event(), {**INDEXED, "image_urls": []}, "no_images"),
        (ENABLED, event(), {**INDEXED, "images": [{"url": "http://x/1.jpg"}]}, "unchanged"),
    ],
)
def test_refusals_come_before_any_request(profile, ev, source, outcome):
    assert handler(profile, source).handle(ev) == outcome


def test_an_ad_escalated_in_an_earlier_version_is_refused():
    """An edit that drops the words that raised the flag does not make the ad's images fetchable."""
    assert handler(ENABLED, es=OneAd(INDEXED, escalated_versions=1)).handle(event()) == "skipped_escalated"


def test_the_flag_is_read_again_at_fetch_time():
    """Escalated between the decision and the request: the request is not made."""
    es = OneAd(INDEXED, {**INDEXED, "escalate": True})
    assert handler(ENABLED, es=es).handle(event()) == "skipped_escalated"
