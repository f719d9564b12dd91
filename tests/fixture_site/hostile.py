"""A hostile ad board on 127.0.0.1: pages crafted to stall, crash or blind a crawler and the
enrichment behind it (issue 12), with normal ads interleaved.

    with HostileSite() as site:
        site.url                  # "http://127.0.0.1:PORT/": links every ad, normal and hostile
        site.normal_ids           # ids of the normal ads (/ad/<id>)
        site.hostile              # name -> path of each hostile page

The home page lists every ad, normal and hostile alternating, and links the 50,000-link listing.
Big bodies are built once, lazily, and cached.
"""

from __future__ import annotations

import gzip
import html
import itertools
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler

import brotli

from tests.fixture_site.served import FixtureHandler, ServedSite
from vigil.app.local_http import LocalHTTPServer

NORMAL_ADS = 12
FIELD_BYTES = 40 * 1024 * 1024
BOMB_BYTES = 64 * 1024 * 1024
DRIP_SECONDS = 6.0


def page(title: str, description: str, extra: str = "", charset: str = "utf-8") -> str:
    return (
        f'<!DOCTYPE html><html><head><meta charset="{charset}"><title>{html.escape(title)}</title></head><body>'
        f'<article class="ad"><h1>{html.escape(title)}</h1><div class="description">{description}</div>'
        f"{extra}</article></body></html>"
    )


def normal_ad(n: int) -> bytes:
    return page(
        f"Normal ad {n}",
        f"<p>Sweet and discreet companion number {n}. Call +31 6 1234 {n:04d} or mail normal{n}@example.org.</p>",
    ).encode()


class HostileSite(ServedSite):
    """The board, served from a thread on a free loopback port."""

    name = "hostile-site"

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host, self.port = host, port
        self.normal_ids = [str(n) for n in range(1, NORMAL_ADS + 1)]
        self.hostile = {
            "emails": "/ad/h-emails",
            "quotes": "/ad/h-quotes",
            "field_40mb": "/ad/h-field",
            "nested": "/ad/h-nested",
            "encodings": "/ad/h-encodings",
            "mixed_encodings": "/ad/h-mixed",
            "controls": "/ad/h-controls",
            "gzip_bomb": "/ad/h-gzip-bomb",
            "brotli_bomb": "/ad/h-brotli-bomb",
            "redirect_loop": "/ad/h-loop-a",
            "slow_drip": "/ad/h-drip",
            "changing": "/ad/h-changing",
        }
        self.links_listing = "/listing/links"
        self.fetches = itertools.count()
        self.hits: Counter[str] = Counter()
        self.last_hostile_fetch = 0.0
        self._cache: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._http: LocalHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def cached(self, name: str, build) -> bytes:
        with self._lock:
            if name not in self._cache:
                self._cache[name] = build()
            return self._cache[name]

    # -- the pages ------------------------------------------------------------------------------

    def home(self) -> bytes:
        hostile = list(self.hostile.values())
        ordered = [
            path
            for pair in itertools.zip_longest([f"/ad/{n}" for n in self.normal_ids], hostile)
            for path in pair
            if path
        ]
        items = "".join(f'<li><a class="ad-link" href="{p}">{p}</a></li>' for p in ordered)
        return (
            f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>Hostile board</title></head><body>'
            f'<ul class="ads">{items}</ul><nav><a class="listing" href="{self.links_listing}">All links</a></nav>'
            "</body></html>"
        ).encode()

    def emails(self) -> bytes:
        addresses = " ".join(f"user{n}@example{n % 97}.com" for n in range(15000))
        return page("Fifteen thousand addresses", f"<p>{addresses}</p>").encode()

    def quotes(self) -> bytes:
        return page("Quotes", "<p>" + "lola@example.com " * 12500 + '"' * (2 * 1024 * 1024) + "</p>").encode()

    def field_40mb(self) -> bytes:
        chunk = "<p>Call 0612345678 now, new girl in town. " + "x" * 200 + "</p>"
        return page("Forty megabytes", chunk * (FIELD_BYTES // len(chunk) + 1)).encode()

    def nested(self) -> bytes:
        return page("Nested", "<div>" * 10000 + "Bel 0612345678" + "</div>" * 10000).encode()

    def encodings(self) -> bytes:
        text = page("Encodings: caf\u00e9 \u00fcber", "<p>Bel 0612345678, caf\u00e9 cr\u00e8me</p>").encode("utf-8")
        return text.replace(b"</p>", b" \xff\xfe\xfa\xc3( invalid \xe9t\xe9 latin-1 \x82\xa0 sjis</p>")

    def mixed_encodings(self) -> bytes:
        """Declared Shift_JIS by the header and UTF-8 by the page, holding UTF-8, cp1252, Shift_JIS
        and UTF-16 pieces side by side."""
        text = page("Gemengd caf\u00e9", "<p>Bel 0612345678 MIXED</p>").encode("utf-8")
        pieces = "caf\u00e9 ".encode() + "cr\u00e8me ".encode("cp1252") + "\u65b0\u4eba ".encode("shift_jis")
        return text.replace(b"MIXED", pieces + "\u00fcber".encode("utf-16"))

    def controls(self) -> bytes:
        nasty = "\x00\x01\x07\x1b[31m\u202eevil\u202c\u2066x\u2069\u200f\u200b\ufeff" * 2000
        return page("Controls", f"<p>Bel 0612345678 {html.escape(nasty)}</p>").encode()

    def links(self) -> bytes:
        items = "".join(f'<a href="/away/{n}">link {n}</a>\n' for n in range(50000))
        return f"<!DOCTYPE html><html><head><title>All links</title></head><body>{items}</body></html>".encode()

    def changing(self) -> bytes:
        n = next(self.fetches)
        return page(f"Changing {n}", f"<p>Fetch number {n} at {time.time()}: call 0612345{n % 1000:03d}</p>").encode()

    # -- serving --------------------------------------------------------------------------------

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?", 1)[0]
        with self._lock:
            self.hits[path] += 1
        if path in self.hostile.values():
            self.last_hostile_fetch = time.monotonic()
        if path == "/":
            return self.send(handler, 200, self.home())
        if path == "/robots.txt":
            return self.send(handler, 200, b"User-agent: *\nAllow: /\n", "text/plain")
        if path.startswith("/ad/") and path[4:] in self.normal_ids:
            return self.send(handler, 200, normal_ad(int(path[4:])))
        if path == self.links_listing:
            return self.send(handler, 200, self.cached("links", self.links))
        if path == "/ad/h-loop-a":
            return self.redirect(handler, "/ad/h-loop-b")
        if path == "/ad/h-loop-b":
            return self.redirect(handler, "/ad/h-loop-a")
        if path == "/ad/h-drip":
            return self.drip(handler)
        if path == "/ad/h-changing":
            return self.send(handler, 200, self.changing())
        if path == "/ad/h-encodings":
            return self.send(handler, 200, self.encodings(), "text/html; charset=utf-8")
        if path == "/ad/h-mixed":
            return self.send(handler, 200, self.mixed_encodings(), "text/html; charset=shift_jis")
        if path == "/ad/h-gzip-bomb":
            body = self.cached("gzip", lambda: gzip.compress(b"\0" * BOMB_BYTES, compresslevel=9))
            return self.send(handler, 200, body, headers={"Content-Encoding": "gzip"})
        if path == "/ad/h-brotli-bomb":
            body = self.cached("br", lambda: brotli.compress(b"\0" * BOMB_BYTES, quality=5))
            return self.send(handler, 200, body, headers={"Content-Encoding": "br"})
        builders = {
            "/ad/h-emails": self.emails,
            "/ad/h-quotes": self.quotes,
            "/ad/h-field": self.field_40mb,
            "/ad/h-nested": self.nested,
            "/ad/h-controls": self.controls,
        }
        if path in builders:
            return self.send(handler, 200, self.cached(path, builders[path]))
        return self.send(handler, 404, b"<h1>Not found</h1>")

    @staticmethod
    def send(handler: FixtureHandler, status: int, body: bytes, content_type: str = "text/html; charset=utf-8",
             headers: dict[str, str] | None = None) -> None:  # fmt: skip
        handler._send(status, body, content_type, headers)

    @staticmethod
    def redirect(handler, location: str) -> None:
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    @staticmethod
    def drip(handler) -> None:
        """A valid page, sent a few bytes at a time over DRIP_SECONDS."""
        body = page("Slow drip", "<p>Bel 0612345678, slowly.</p>").encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        pieces = [body[i : i + 8] for i in range(0, len(body), 8)]
        try:
            for piece in pieces:
                handler.wfile.write(piece)
                handler.wfile.flush()
                time.sleep(DRIP_SECONDS / len(pieces))
        except (BrokenPipeError, ConnectionResetError):
            pass

    def handler(self) -> type:
        site = self

        class Handler(FixtureHandler):
            def do_GET(self) -> None:  # noqa: N802 - BaseHTTPRequestHandler's name
                site.handle(self)

        return Handler
