"""Tor OPSEC rules and isolation, without a tor: media refused, onions checked, profiles spread."""

from __future__ import annotations

import pytest

from crawlers.tor import TorPolicyError, check_url, html_like, looks_like_media
from vigil.core.config import TorInstance, TorSettings
from vigil.core.onion import onion_from_pubkey
from vigil.core.tor import socks
from vigil.core.tor.isolation import Isolation, instance_for, instance_index

ONION = onion_from_pubkey(bytes(range(32)))


@pytest.mark.parametrize(
    "url",
    [f"http://{ONION}/a.JPG", f"http://{ONION}/x/y.webp?size=2", f"http://{ONION}/v.mp4", f"http://{ONION}/s.css"],
)
def test_media_urls_are_refused(url):
    assert looks_like_media(url)
    with pytest.raises(TorPolicyError, match="media"):
        check_url(url)


@pytest.mark.parametrize("url", [f"http://{ONION}/", f"http://{ONION}/ad/12", f"https://{ONION}/page.html"])
def test_pages_pass(url):
    check_url(url)


def test_v2_and_bad_onions_are_refused():
    with pytest.raises(TorPolicyError, match="v2 onion address"):
        check_url("http://expyuzz4wqqyqhjn.onion/")
    with pytest.raises(TorPolicyError, match="checksum"):
        check_url("http://" + ONION.replace(ONION[5], "a" if ONION[5] != "a" else "b", 1) + "/")


def test_other_schemes_are_refused():
    with pytest.raises(TorPolicyError, match="scheme"):
        check_url(f"ftp://{ONION}/file")


@pytest.mark.parametrize(
    ("content_type", "url", "kept"),
    [
        ("text/html; charset=utf-8", "http://x.onion/", True),
        ("application/xhtml+xml", "http://x.onion/", True),
        ("image/jpeg", "http://x.onion/photo", False),
        ("", "http://x.onion/", False),
        ("text/plain", "http://x.onion/robots.txt", True),
        ("text/plain", "http://x.onion/notes", False),
    ],
)
def test_only_html_like_content_is_kept(content_type, url, kept):
    assert html_like(content_type, url) is kept


@pytest.mark.parametrize(
    ("content_type", "accept", "kept"),
    [
        ("application/json", (), False),
        ("application/json; charset=utf-8", ("json",), True),
        ("application/vnd.api+json", ("json",), True),
        ("application/javascript", ("json",), True),
        ("application/rss+xml", ("json",), False),
        ("application/rss+xml", ("xml",), True),
        ("text/xml", ("xml",), True),
        ("image/svg+xml", ("json", "xml"), False),
        ("image/jpeg", ("json", "xml"), False),
        ("application/octet-stream", ("json", "xml"), False),
    ],
)
def test_json_and_xml_profiles_read_their_own_types_over_tor(content_type, accept, kept):
    assert html_like(content_type, "http://x.onion/api", accept) is kept


def test_the_route_over_tor_accepts_what_the_profile_reads():
    from crawlers.routing import route
    from vigil.core.config import Settings
    from vigil.core.profiles import parse_profile

    base = {"id": "p", "network": "tor", "start_urls": [f"http://{ONION}/"]}
    html = parse_profile({**base, "ads": {"url_regex": "/ad/"}})
    api = parse_profile({**base, "source": "json", "ads": {"items": {"path": "@", "id": "id"}}})
    modal = parse_profile(
        {**base, "ads": {"items": {"css": "div", "id": {"attr": "id"}, "detail": {"url": "/a/{id}"}}}}
    )
    feed = parse_profile({**base, "source": "xml", "ads": {"items": {"css": "item", "id": "guid"}}})
    accepted = {p.id + p.source: route(p, Settings()).settings["VIGIL_TOR_ACCEPT"] for p in (html, api, feed)}
    assert accepted == {"phtml": [], "pjson": ["json"], "pxml": ["xml"]}
    assert route(modal, Settings()).settings["VIGIL_TOR_ACCEPT"] == ["json"]


def test_profiles_are_spread_stably_over_instances():
    tor = TorSettings(extra_instances=[TorInstance(socks_port=9060, control_port=9061)])
    chosen = {instance_for(tor, f"profile-{i}").socks_port for i in range(50)}
    assert chosen == {9050, 9060}
    assert instance_index("site-a", 7) == instance_index("site-a", 7)
    assert instance_for(TorSettings(), "anything").socks_port == 9050


def test_isolation_credentials_per_profile_and_rotation():
    isolation = Isolation(nonce="n")
    assert isolation.credentials("a") == ("vigil:a", "n.0")
    assert isolation.credentials("b")[0] == "vigil:b"
    isolation.rotate("a")
    assert isolation.credentials("a") == ("vigil:a", "n.1")
    assert isolation.credentials("b") == ("vigil:b", "n.0")


def test_socks_connect_sends_the_name_not_an_address():
    request = socks.connect_request(ONION, 80)
    assert request[:4] == b"\x05\x01\x00\x03"  # CONNECT, address type 3: a domain name
    assert ONION.encode() in request
    assert socks.auth_request("vigil:a", "n.0") == b"\x01\x07vigil:a\x03n.0"
