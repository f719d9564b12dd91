"""The image fetcher against a loopback server: the SSRF decision on every hop, size limits,
content types, robots.txt and politeness. Nothing leaves 127.0.0.1."""

from __future__ import annotations

import time
from http.server import BaseHTTPRequestHandler

import pytest

from pipelines.image_fetch import FetchFailed, FetchPolicy, ImageFetcher
from tests.image_samples import photo, png
from vigil.app.local_http import LocalHTTPServer
from vigil.core.profiles import ProfileError, parse_profile

IMAGE = png(photo(1, (60, 80)))
HITS: list[str] = []


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):  # noqa: N802 - http.server's name
        HITS.append(self.path)
        if self.path == "/robots.txt":
            self._send(200, "text/plain", b"User-agent: *\nDisallow: /private/\n")
        elif self.path in ("/ok.png", "/private/ok.png"):
            self._send(200, "image/png", IMAGE)
        elif self.path == "/page.html":
            self._send(200, "text/html", b"<html></html>")
        elif self.path == "/big.png":
            self._send(200, "image/png", b"\x89PNG" + b"0" * 50_000)
        elif self.path == "/big-chunked.png":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Connection", "close")
            self.end_headers()
            for _ in range(10):
                self.wfile.write(b"0" * 10_000)
        elif self.path == "/to-metadata":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/to-ok":
            self.send_response(301)
            self.send_header("Location", "/ok.png")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._send(404, "text/plain", b"no")

    def _send(self, status: int, kind: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server():
    srv = LocalHTTPServer(Handler, name="image-fetch-test").start()
    yield f"http://127.0.0.1:{srv.port}"
    srv.stop()


LOCAL = FetchPolicy(allow_private=True, max_bytes=20_000, timeout=5, delay=0)


def cause(url: str, policy: FetchPolicy = LOCAL) -> str:
    with pytest.raises(FetchFailed) as failed:
        ImageFetcher().fetch(url, policy)
    return failed.value.cause


def test_an_image_is_fetched_into_memory(server):
    assert ImageFetcher().fetch(f"{server}/ok.png", LOCAL) == IMAGE
    assert ImageFetcher().fetch(f"{server}/to-ok", LOCAL) == IMAGE


def test_loopback_is_refused_unless_the_profile_allows_private_networks(server):
    HITS.clear()
    assert cause(f"{server}/ok.png", FetchPolicy(max_bytes=20_000, timeout=5, delay=0)) == "refused_address"
    assert HITS == [], "the refused host must not see a single request (robots.txt included)"


@pytest.mark.parametrize("url", ["http://169.254.169.254/x.png", "http://0x7f.1/x.png", "ftp://example.org/x.png",
                                 "http://abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion/x.png"])  # fmt: skip
def test_refused_addresses_and_schemes(url):
    assert cause(url, FetchPolicy(max_bytes=20_000, timeout=5, delay=0)) == "refused_address"


def test_a_redirect_is_vetted_like_the_first_hop(server):
    assert cause(f"{server}/to-metadata") == "refused_address"


def test_size_limit_declared_or_streamed(server):
    assert cause(f"{server}/big.png") == "too_large"
    assert cause(f"{server}/big-chunked.png") == "too_large"


def test_only_images_are_read(server):
    assert cause(f"{server}/page.html") == "not_image"
    assert cause(f"{server}/missing.png") == "http_status"


def test_robots_txt_is_obeyed(server):
    assert cause(f"{server}/private/ok.png") == "robots"
    polite_off = FetchPolicy(allow_private=True, max_bytes=20_000, timeout=5, delay=0, obey_robots=False)
    assert ImageFetcher().fetch(f"{server}/private/ok.png", polite_off) == IMAGE


def test_requests_to_one_host_are_spaced_by_the_download_delay(server):
    fetcher = ImageFetcher()
    slow = FetchPolicy(allow_private=True, max_bytes=20_000, timeout=5, delay=0.4, obey_robots=False)
    started = time.monotonic()
    for _ in range(3):
        fetcher.fetch(f"{server}/ok.png", slow)
    assert time.monotonic() - started >= 0.8


PROFILE = {"id": "board", "start_urls": ["http://127.0.0.1:8700/"], "ads": {"url_regex": r"/ad/\d+"}}


def test_images_are_opt_in_and_never_for_tor_profiles():
    assert parse_profile(PROFILE).images is None
    images = parse_profile({**PROFILE, "images": {"max_per_ad": 2}}).images
    assert images.ocr and images.hashes and images.max_per_ad == 2 and images.max_bytes == 5 * 1024 * 1024
    with pytest.raises(ProfileError, match="never fetched over Tor"):
        parse_profile({**PROFILE, "network": "tor", "images": {}})
    with pytest.raises(ProfileError, match="images.max_bytes"):
        parse_profile({**PROFILE, "images": {"max_bytes": 10}})
