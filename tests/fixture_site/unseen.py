"""Source layouts unlike those of feeds.py and notices.py, for the "profile written from
docs/profiles.md alone" tests (tests/integration/test_unseen_layouts.py).

    with UnseenSite() as site:
        site.url                     # "http://127.0.0.1:PORT/"
        site.directory, .bulletin, .market, .news   # the entries each serves, newest first
        site.add_message(text)       # a new bulletin message, shown first from now on

* ``/v3/directory?region=north`` — a directory API (``application/vnd.directory+json``). The
  entries sit deep in the body (``response.listing.entries[]``), each wrapping the profile one level
  down (``{"profile": {"uid": ..., "contacts": [{"kind": "phone", ...}]}, "href": ...}``). A
  sponsored entry heads every page. The next page is a whole URL in the body (``links.next``, an
  opaque ``page_token``), absent on the last page. ``Last-Modified`` and ``If-Modified-Since``
  (no ETag).
* ``/bulletin`` — a bulletin board with no element around a message: a ``p.byline`` (author, date,
  a permalink ``/bulletin/msg/<id>``, the only place the id appears) followed by the message as
  bare text and ``<br>``, then an ``<hr>``; a rules box before the first message and a pager after
  the last. Older messages load through a button with an opaque cursor in ``data-cursor`` (no
  ``href``: a script builds ``?cursor=<value>``).
* ``/market?page=N`` — a server-rendered single-page app: the HTML holds no listing, only
  "Loading..." and a ``<script id="__NEXT_DATA__" type="application/json">`` whose
  ``props.pageProps`` has the listings (string ids, a ``slug`` from which the page URL is built)
  and ``pagination.nextPage`` (null on the last page).
* ``/news/atom[?page=N]`` — an Atom feed (``application/atom+xml``, default namespace), 5 entries a
  page, older entries behind ``<link rel="next" href="..."/>`` (RFC 5005); each entry's id is a
  tag URI (``tag:news.example,2026:entry-301``), its page a ``link rel="alternate"``, its text
  escaped HTML in ``<content type="html">``.
* ``/v2/ads[?page=N]`` — a JSON API whose body is the bare list of ads (no envelope), 4 a page,
  the next page only in the HTTP ``Link`` header (``<...?page=2>; rel="next"``).
* ``/wall/more[?before=ID]`` — a "load more" endpoint: JSON carrying the posts as an HTML string
  (``{"ok": true, "html": "<article class='wall-post' data-id=...>", "next_before": ID | null}``),
  6 posts a call, newest first.
* ``/v3/bulk?n=N&size=S`` — N entries of S characters each, for the size limits;
  ``/v3/internal/directory`` the same, disallowed by robots.txt.
"""

from __future__ import annotations

import base64
import html
import json
import threading
import time
from collections import Counter
from email.utils import formatdate, parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fixture_site.served import FixtureHandler, ServedSite

DIRECTORY_PAGE = 10
BULLETIN_PAGE = 8
MARKET_PAGE = 5
NEWS_PAGE = 5
TOWNS = ["Utrecht", "Ghent", "Lille", "Bremen", "Graz"]
LAST_MODIFIED = 1796112000.0  # Mon, 30 Nov 2026 08:00:00 GMT


def directory_entries() -> list[dict[str, Any]]:
    """23 entries, uid 9023 (newest) .. 9001, and the sponsored uid 9000 apart."""
    return [
        {
            "profile": {
                "uid": uid,
                "display_name": f"Model {uid % 100}",
                "about": f"New in {TOWNS[uid % len(TOWNS)]}, young and sweet, incall and outcall, "
                f"no limits. Agency drives you. Book now.",
                "contacts": [
                    {"kind": "telegram", "value": f"@model{uid}"},
                    {"kind": "phone", "value": f"+31 6 1234 {uid:04d}"},
                ],
                "area": {"town": TOWNS[uid % len(TOWNS)], "country": "NL"},
                "rates": [{"duration": "1h", "amount": 100 + uid % 50, "currency": "EUR"}],
                "created": f"2026-11-{1 + uid % 28:02d}T20:00:00Z",
            },
            "href": f"/p/{uid}-model",
            "sponsored": uid == 9000,
        }
        for uid in [9000, *range(9023, 9000, -1)]
    ]


def bulletin_messages() -> list[dict[str, Any]]:
    """20 messages, newest first; ids are not consecutive."""
    return [
        {
            "id": 4400 + 7 * n,
            "author": f"member{(n * 13) % 40}",
            "at": f"{1 + n:02d}.11.2026 {(n * 3) % 24:02d}:10",
            "lines": [
                f"Work in a bar in {TOWNS[n % len(TOWNS)]}, accommodation given, travel paid by us.",
                f"Girls 18+ only, no papers needed. Call 06 5550 {4400 + 7 * n:04d}.",
            ],
        }
        for n in range(20, 0, -1)
    ]


def market_listings() -> list[dict[str, Any]]:
    """14 listings, newest first."""
    return [
        {
            "id": f"lst_{n:03d}{'abcdefghijklmnop'[n]}",
            "slug": f"{TOWNS[n % len(TOWNS)].lower()}-hostess-{n}",
            "title": f"Hostess wanted in {TOWNS[n % len(TOWNS)]}",
            "description": {"plain": f"Nightclub job, {1500 + n * 10} EUR a week, visa handled, we keep documents safe. "
                                     f"WhatsApp +49 151 4400 {n:04d}."},  # fmt: skip
            "seller": {"name": f"Agency {n}", "verified": n % 2 == 0},
            "location": {"city": TOWNS[n % len(TOWNS)]},
        }
        for n in range(14, 0, -1)
    ]


def news_entries() -> list[dict[str, Any]]:
    """12 entries, ids 312 (newest) .. 301."""
    return [
        {
            "id": 300 + n,
            "title": f"Au pair wanted in {TOWNS[n % len(TOWNS)]}",
            "html": f"<p>Family seeks <b>young girl</b> from abroad, no pay but board, passport kept by the "
            f"agency.</p><p>Call +33 6 12 34 {n:02d} {n:02d}.</p>",
            "updated": f"2026-11-{n + 10:02d}T08:00:00Z",
        }
        for n in range(12, 0, -1)
    ]


def _token(index: int) -> str:
    return base64.urlsafe_b64encode(f"o:{index}".encode()).decode().rstrip("=")


def _index(token: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().split(":")[1])
    except (ValueError, IndexError):
        return 0


class Handler(FixtureHandler):
    server_version = "Unseen/2.1"
    site: UnseenSite

    def do_GET(self) -> None:  # noqa: N802 - BaseHTTPRequestHandler's name
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        with self.site.lock:
            self.site.hits[parts.path] += 1
            self.site.times.append((parts.path, time.monotonic()))
        if parts.path == "/robots.txt":
            return self._send(200, b"User-agent: *\nDisallow: /v3/internal/\n", "text/plain")
        if parts.path == "/v3/directory":
            return self._directory(query)
        if parts.path == "/bulletin":
            return self._bulletin(query)
        if parts.path == "/wall/more":
            return self._wall(query)
        if parts.path == "/v2/ads":
            return self._bare(query)
        if parts.path == "/news/atom":
            return self._atom(query)
        if parts.path == "/market":
            return self._market(query)
        if parts.path in ("/v3/bulk", "/v3/internal/directory"):
            return self._bulk(query)
        return self._send(404, b"<p>not here</p>", "text/html")

    def _directory(self, query: dict[str, list[str]]) -> None:
        since = self.headers.get("If-Modified-Since")
        if since:
            try:
                if parsedate_to_datetime(since).timestamp() >= self.site.modified:
                    with self.site.lock:
                        self.site.not_modified += 1
                    self.send_response(304)
                    self.end_headers()
                    return
            except (TypeError, ValueError):
                pass
        start = _index(query.get("page_token", [""])[0])
        sponsored, *regular = self.site.directory
        page = regular[start : start + DIRECTORY_PAGE]
        body: dict[str, Any] = {
            "status": "ok",
            "response": {"meta": {"total": len(regular)}, "listing": {"entries": [sponsored, *page]}},
            "links": {"self": self.path},
        }
        if start + DIRECTORY_PAGE < len(regular):
            body["links"]["next"] = f"/v3/directory?region=north&page_token={_token(start + DIRECTORY_PAGE)}"
        headers = {"Last-Modified": formatdate(self.site.modified, usegmt=True)}
        self._send(200, json.dumps(body).encode(), "application/vnd.directory+json; charset=utf-8", headers)

    def _market(self, query: dict[str, list[str]]) -> None:
        raw = query.get("page", ["1"])[0]
        page = int(raw) if raw.isdigit() and int(raw) > 0 else 1
        shown = self.site.market[(page - 1) * MARKET_PAGE : page * MARKET_PAGE]
        following = page + 1 if page * MARKET_PAGE < len(self.site.market) else None
        data = {
            "props": {"pageProps": {"listings": {"nodes": shown}, "pagination": {"page": page, "nextPage": following}}},
            "page": "/market",
            "buildId": "b81c",
        }
        script = json.dumps(data).replace("</", "<\\/")
        page_html = (
            "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Market</title></head><body>"
            "<div id='__next'><p class='loading'>Loading...</p></div>"
            f"<script id='__NEXT_DATA__' type='application/json'>{script}</script>"
            "<script src='/_next/static/chunks/main.js'></script></body></html>"
        )
        self._send(200, page_html.encode(), "text/html; charset=utf-8")

    def _wall(self, query: dict[str, list[str]]) -> None:
        raw = query.get("before", [""])[0]
        posts = [n for n in range(615, 599, -1) if not raw.isdigit() or n < int(raw)][:6]
        fragment = "".join(
            f"<article class='wall-post' data-id='{n}'><header>Wall</header>"
            f"<div class='txt'>Room for girls in {TOWNS[n % len(TOWNS)]}, work found for you, call 0170 666 {n:04d}</div>"
            "</article>"
            for n in posts
        )
        body = {"ok": True, "html": fragment, "next_before": posts[-1] if posts and posts[-1] > 600 else None}
        self._send(200, json.dumps(body).encode(), "application/json")

    def _bare(self, query: dict[str, list[str]]) -> None:
        raw = query.get("page", ["1"])[0]
        page = int(raw) if raw.isdigit() and int(raw) > 0 else 1
        ads = [{"ad_id": n, "text": f"Masseuse wanted in {TOWNS[n % len(TOWNS)]}, call 0170 555 {n:04d}"} for n in range(810, 800, -1)]
        shown = ads[(page - 1) * 4 : page * 4]
        links = [f'<{self.site.url}v2/ads?page={page - 1}>; rel="prev"'] if page > 1 else []
        if page * 4 < len(ads):
            links.append(f'<{self.site.url}v2/ads?page={page + 1}>; rel="next"')
        self._send(200, json.dumps(shown).encode(), "application/json", {"Link": ", ".join(links)} if links else None)

    def _atom(self, query: dict[str, list[str]]) -> None:
        raw = query.get("page", ["1"])[0]
        page = int(raw) if raw.isdigit() and int(raw) > 0 else 1
        shown = self.site.news[(page - 1) * NEWS_PAGE : page * NEWS_PAGE]
        entries = "".join(
            f"<entry><id>tag:news.example,2026:entry-{e['id']}</id><title>{html.escape(e['title'])}</title>"
            f"<link rel='alternate' type='text/html' href='/news/{e['id']}'/><updated>{e['updated']}</updated>"
            f"<author><name>desk</name></author><content type='html'>{html.escape(e['html'])}</content></entry>"
            for e in shown
        )
        following = (
            f"<link rel='next' href='/news/atom?page={page + 1}'/>" if page * NEWS_PAGE < len(self.site.news) else ""
        )
        feed = (
            "<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
            f"<title>News</title><id>tag:news.example,2026:feed</id><link rel='self' href='/news/atom?page={page}'/>"
            f"{following}<updated>2026-11-30T08:00:00Z</updated>{entries}</feed>"
        )
        self._send(200, feed.encode(), "application/atom+xml; charset=utf-8")

    def _bulk(self, query: dict[str, list[str]]) -> None:
        """``n`` entries whose ``about`` is ``size`` characters long (for the size limits)."""
        count = min(int(query.get("n", ["1"])[0]), 5000)
        size = min(int(query.get("size", ["100"])[0]), 100_000)
        entries = [{"profile": {"uid": 7000 + n, "about": ("x" * (size - 9)) + f" 06{n:07d}"}} for n in range(count)]
        body = {"response": {"listing": {"entries": entries}}}
        self._send(200, json.dumps(body).encode(), "application/json")

    def _bulletin(self, query: dict[str, list[str]]) -> None:
        start = _index(query.get("cursor", [""])[0])
        with self.site.lock:
            messages = list(self.site.bulletin)
        shown = messages[start : start + BULLETIN_PAGE]
        posts = "".join(
            f"<p class='byline'><a class='who' href='/u/{m['author']}'>{m['author']}</a> wrote on "
            f"<span class='ts'>{m['at']}</span> <a class='perma' href='/bulletin/msg/{m['id']}' "
            f"title='link to this message'>&para;</a></p>\n"
            + "<br>\n".join(html.escape(line) for line in m["lines"])
            + "<br>\n<hr>\n"
            for m in shown
        )
        more = (
            f"<div class='pager'><button class='older' data-cursor='{_token(start + BULLETIN_PAGE)}'>"
            f"Older messages</button></div>"
            if start + BULLETIN_PAGE < len(messages)
            else "<div class='pager'>No older messages. Call 06 5550 0000 to advertise.</div>"
        )
        page = (
            "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Bulletin</title></head><body>"
            "<div id='content'><h1>Bulletin</h1>\n<div class='rules'>Be nice. No spam. Admin: 06 5550 0001</div>\n"
            f"{posts}{more}</div><script src='/static/older.js'></script></body></html>"
        )
        self._send(200, page.encode(), "text/html; charset=utf-8")

class UnseenSite(ServedSite):
    """Both layouts, served from a thread; a context manager."""

    name = "fixture-unseen"

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host, self.port = host, port
        self._http = None
        self.directory = directory_entries()
        self.bulletin = bulletin_messages()
        self.market = market_listings()
        self.news = news_entries()
        self.modified = LAST_MODIFIED
        self.hits: Counter = Counter()
        self.times: list[tuple[str, float]] = []
        self.not_modified = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def add_message(self, text: str) -> dict[str, Any]:
        """A new bulletin message, the newest."""
        with self.lock:
            message = {"id": max(m["id"] for m in self.bulletin) + 3, "author": "newcomer", "at": "01.12.2026 09:00",
                       "lines": [text]}  # fmt: skip
            self.bulletin.insert(0, message)
        return message

    def handler(self) -> type:
        return type("BoundUnseenHandler", (Handler,), {"site": self})
