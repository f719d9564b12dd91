"""The demo's ad board: an HTTP server on 127.0.0.1 that Vigil crawls like any classifieds site.

One section per country of the demo catalogue (``/de/``, ``/nl/``, ``/fr/``: paginated listings,
newest first, ``a.next`` to the next page, ad pages at ``/<section>/ad/<id>``), plus ``/us/`` with
the real DIG sample ads when that data set is present. New ads can be posted while it runs, in
Python (``board.post``) or over HTTP (``POST /<section>/ads`` with JSON ``{"title", "text",
"city"}``); they are listed first, as a real board would, so incremental re-crawls find them.
"""

from __future__ import annotations

import errno
import html
import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from vigil.app.demo import dig_sample
from vigil.app.demo.ads import generate
from vigil.app.demo.catalogue import SECTIONS
from vigil.app.local_http import LocalHTTPServer

PAGE_SIZE = 20
SAMPLE_SECTION = "us"


class BoardError(Exception):
    """The board cannot start (port taken, sample unreadable) or a post is invalid."""


@dataclass(frozen=True)
class BoardSection:
    slug: str
    country: str
    language: str
    name: str
    profile_id: str


@dataclass(frozen=True)
class BoardAd:
    ad_id: str
    section: str
    title: str
    text: str
    city: str
    posted: datetime
    origin: str  # "generated", "dig-sample" or "posted"


SECTION_NAMES = {"DE": "Deutschland", "NL": "Nederland", "FR": "France"}


def _sections(with_sample: bool) -> list[BoardSection]:
    found = [
        BoardSection(
            s.country.lower(), s.country, s.language, SECTION_NAMES.get(s.country, s.country), s.site
        )
        for s in SECTIONS
    ]
    if with_sample:
        found.append(BoardSection(SAMPLE_SECTION, "US", "en", "US archive (real ads, DIG sample)", "demo-us"))
    return found


def _initial_ads(sample: list[dig_sample.SampleAd], now: datetime) -> list[BoardAd]:
    ads = [
        BoardAd(
            ad_id=ad.ad_id,
            section=ad.section.country.lower(),
            title=ad.title,
            text=ad.text,
            city=ad.city,
            posted=now - timedelta(hours=ad.age_hours),
            origin="generated",
        )
        for ad in generate()
    ]
    ads += [
        BoardAd(
            ad_id=f"dig{s.sample_id}",
            section=SAMPLE_SECTION,
            title=s.title,
            text=s.text,
            city=s.city,
            posted=s.posted,
            origin="dig-sample",
        )
        for s in sample
    ]
    return ads


class DemoBoard:
    """The board's ads and its server thread; ``with DemoBoard(port) as board: board.url``."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1", sample_path: Path = dig_sample.DEFAULT_PATH):
        self.host = host
        self.requested_port = port
        self.sample_path = sample_path
        try:
            sample = dig_sample.load(sample_path)
        except ValueError as exc:
            raise BoardError(str(exc)) from None
        self.sample_count = len(sample)
        self.sections = _sections(bool(sample))
        self._ads = _initial_ads(sample, datetime.now(UTC))
        self._lock = threading.Lock()
        self._posted = 0
        self.requests = 0
        self._http: LocalHTTPServer | None = None

    @property
    def url(self) -> str:
        if self._http is None:
            raise BoardError("the board is not running")
        return f"http://{self.host}:{self._http.port}/"

    @property
    def port(self) -> int:
        return int(urlsplit(self.url).port or 0)

    def section(self, slug: str) -> BoardSection | None:
        return next((s for s in self.sections if s.slug == slug), None)

    def ads(self, slug: str | None = None) -> list[BoardAd]:
        """The ads of one section (or all), newest first."""
        with self._lock:
            found = [a for a in self._ads if slug is None or a.section == slug]
        return sorted(found, key=lambda a: a.posted, reverse=True)

    def ad_url(self, ad: BoardAd) -> str:
        return f"{self.url}{ad.section}/ad/{ad.ad_id}"

    def post(self, section: str, title: str, text: str, city: str = "") -> BoardAd:
        """Publish a new ad in ``section``; it is listed first from now on."""
        if self.section(section) is None:
            raise BoardError(f"no section {section!r} (sections: {', '.join(s.slug for s in self.sections)})")
        if not title.strip() or not text.strip():
            raise BoardError("a posted ad needs a title and a text")
        with self._lock:
            self._posted += 1
            ad = BoardAd(
                ad_id=f"{section}-new{self._posted:03d}",
                section=section,
                title=title.strip(),
                text=text.strip(),
                city=city.strip(),
                posted=datetime.now(UTC),
                origin="posted",
            )
            self._ads.append(ad)
        return ad

    def start(self) -> DemoBoard:
        board = self

        class Handler(_Handler):
            pass

        Handler.board = board
        try:
            self._http = LocalHTTPServer(Handler, self.host, self.requested_port, name="demo-board").start()
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise BoardError(
                    f"port {self.requested_port} on {self.host} is in use (another vigil demo?); "
                    "choose another with --port"
                ) from None
            raise BoardError(f"the board cannot listen on {self.host}:{self.requested_port}: {exc}") from None
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.stop()
            self._http = None

    def __enter__(self) -> DemoBoard:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _page(title: str, content: str, lang: str = "en") -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)} - Vigil demo board</title></head>\n<body>"
        f'<header><a class="home" href="/">Vigil demo board</a></header>\n{content}\n</body></html>\n'
    )


def _paragraphs(text: str) -> str:
    return "".join(f"<p>{html.escape(line)}</p>" for line in text.splitlines() if line.strip())


class _Handler(BaseHTTPRequestHandler):
    server_version = "VigilDemoBoard/1.0"
    board: DemoBoard

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
        pass

    def do_GET(self) -> None:  # noqa: N802 - BaseHTTPRequestHandler's name
        self.board.requests += 1
        parts = urlsplit(self.path)
        segments = [s for s in parts.path.split("/") if s]
        if parts.path == "/robots.txt":
            self._send(200, b"User-agent: *\nAllow: /\n", "text/plain")
        elif not segments:
            self._html(self._home())
        elif len(segments) == 1 and self.board.section(segments[0]):
            self._listing(segments[0], parse_qs(parts.query))
        elif len(segments) == 3 and segments[1] == "ad" and self.board.section(segments[0]):
            self._ad(segments[0], segments[2])
        else:
            self._send(404, b"not found", "text/plain")

    def do_POST(self) -> None:  # noqa: N802 - BaseHTTPRequestHandler's name
        segments = [s for s in urlsplit(self.path).path.split("/") if s]
        if len(segments) != 2 or segments[1] != "ads":
            self._send(404, b"not found", "text/plain")
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
            payload = json.loads(self.rfile.read(length) or b"{}")
            ad = self.board.post(
                segments[0],
                str(payload.get("title", "")),
                str(payload.get("text", "")),
                str(payload.get("city", "")),
            )
        except (ValueError, AttributeError) as exc:
            self._json(400, {"error": f"expected a JSON object with title and text ({exc})"})
            return
        except BoardError as exc:
            self._json(400, {"error": str(exc)})
            return
        self._json(201, {"ad_id": ad.ad_id, "url": self.board.ad_url(ad)})

    def _home(self) -> str:
        items = "".join(
            f'<li><a class="section" href="/{s.slug}/">{html.escape(s.name)}</a> '
            f"({len(self.board.ads(s.slug))} ads)</li>\n"
            for s in self.board.sections
        )
        return _page("Sections", f"<h1>Classifieds</h1>\n<nav><ul>\n{items}</ul></nav>")

    def _listing(self, slug: str, query: dict[str, list[str]]) -> None:
        section = self.board.section(slug)
        assert section is not None
        ads = self.board.ads(slug)
        try:
            page = max(1, int(query.get("page", ["1"])[0]))
        except ValueError:
            page = 1
        shown = ads[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        if not shown and page > 1:
            self._send(404, b"no such page", "text/plain")
            return
        items = "".join(
            f'<li><a class="ad-link" href="/{slug}/ad/{a.ad_id}">{html.escape(a.title)}</a>'
            f' <span class="location">{html.escape(a.city)}</span>'
            f' <time datetime="{a.posted.isoformat(timespec="seconds")}"></time></li>\n'
            for a in shown
        )
        pager = (
            f'<a class="next" href="/{slug}/?page={page + 1}">next</a>' if len(ads) > page * PAGE_SIZE else ""
        )
        content = (
            f'<h1>{html.escape(section.name)} – page {page}</h1>\n<ul class="ads">\n{items}</ul>\n{pager}'
        )
        self._html(_page(section.name, content, section.language))

    def _ad(self, slug: str, ad_id: str) -> None:
        section = self.board.section(slug)
        ad = next((a for a in self.board.ads(slug) if a.ad_id == ad_id), None)
        if ad is None or section is None:
            self._send(404, b"no such ad", "text/plain")
            return
        content = (
            f'<article class="ad">\n<h1>{html.escape(ad.title)}</h1>\n'
            f'<p class="location">{html.escape(ad.city)}</p>\n'
            f'<time datetime="{ad.posted.isoformat(timespec="seconds")}">'
            f"{ad.posted.strftime('%Y-%m-%d %H:%M')}</time>\n"
            f'<div class="description">{_paragraphs(ad.text)}</div>\n</article>\n'
            f'<a class="back" href="/{slug}/">{html.escape(section.name)}</a>'
        )
        self._html(_page(ad.title, content, section.language))

    def _html(self, text: str) -> None:
        self._send(200, text.encode("utf-8"), "text/html; charset=utf-8")

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        self._send(status, json.dumps(payload).encode("utf-8"), "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
