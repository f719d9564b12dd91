"""The browser's request policy without a browser: abort rules, proxy parsing, Tor checks."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from crawlers.browser_proxy import BadRequest, parse_head, render_head, split_authority
from crawlers.rendering import abort_predicate
from crawlers.tor import TorPolicyError, browser_type_allowed, check_browser_url
from vigil.core.onion import onion_from_pubkey

ONION = onion_from_pubkey(bytes(32))


def request(url: str, resource_type: str = "document"):
    return SimpleNamespace(url=url, resource_type=resource_type)


def test_media_and_fonts_blocked_unless_the_profile_allows_them():
    default = abort_predicate()
    assert all(default(request("http://a/x", kind)) for kind in ("image", "font", "media"))
    assert not default(request("http://a/x.js", "script"))
    allowing = abort_predicate(["image"])
    assert not allowing(request("http://a/x.png", "image")) and allowing(request("http://a/x", "font"))


def test_non_network_schemes_are_aborted_and_tor_ignores_allowances():
    abort = abort_predicate()
    assert abort(request("file:///etc/passwd")) and abort(request("ftp://h/x")) and abort(request("chrome://version"))
    assert not abort(request("data:text/plain,x")) and not abort(request("ws://h/", "websocket"))
    tor = abort_predicate(["image", "font", "media"], via_tor=True)
    assert tor(request(f"http://{ONION}/a.png", "image"))
    assert tor(request(f"http://{ONION}/photo.jpg", "fetch"))  # media by extension, whatever the type
    assert not tor(request(f"http://{ONION}/app.js", "script"))
    assert tor(request("http://abcdefghijklmnop.onion/", "document"))  # v2


def test_tor_browser_url_and_type_checks():
    check_browser_url(f"http://{ONION}/style.css")
    for url in (f"http://{ONION}/clip.mp4", f"http://{ONION}/font.woff2", "http://abcdefghijklmnop.onion/", "file:///x"):
        with pytest.raises(TorPolicyError):
            check_browser_url(url)
    assert browser_type_allowed("text/html; charset=utf-8") and browser_type_allowed("application/ld+json")
    assert browser_type_allowed("text/javascript")
    assert not any(browser_type_allowed(t) for t in ("image/png", "video/mp4", "font/woff2", "application/pdf", ""))


def test_proxy_head_parsing_and_rewriting():
    head = parse_head(b"GET http://h:8/p?q HTTP/1.1\r\nHost: h:8\r\nProxy-Connection: keep-alive\r\nX-A: 1\r\n\r\n")
    assert head.start.startswith("GET ") and head.get("host") == "h:8"
    out = render_head("GET /p?q HTTP/1.1", head.headers).decode()
    assert "Proxy-Connection" not in out and out.endswith("X-A: 1\r\nConnection: close\r\n\r\n")
    with pytest.raises(BadRequest):
        parse_head(b"GET / HTTP/1.1\r\nno colon here\r\n\r\n")


def test_connect_targets():
    assert split_authority("example.com:443") == ("example.com", 443)
    assert split_authority("[::1]:8080") == ("::1", 8080)
    for bad in ("example.com", "example.com:http", ":443"):
        with pytest.raises(BadRequest):
            split_authority(bad)
