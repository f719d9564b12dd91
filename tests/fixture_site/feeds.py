"""Sources that are not one page per ad, on 127.0.0.1, for the items / JSON / feed crawler tests.

    with FeedSite() as site:
        site.url                      # "http://127.0.0.1:PORT/"
        site.add_post(text)           # a new channel post, shown first from now on

Four families, each reproducing the structure of the real thing:

* ``/s/vigilchan`` — a messaging channel's public web preview: the latest 5 posts, oldest at the
  top; older posts through ``?before=<post id>`` (the "load more" control has no href, scripts
  build the URL); every post carries ``data-post="vigilchan/<id>"`` and a permalink
  ``/vigilchan/<id>``. Answers ``If-None-Match`` with 304 when nothing changed.
* ``/forum/`` — a forum: thread links (``a.thread``), threads of 10 posts a page
  (``/forum/t/<n>?page=N``, ``a.next``), posts ``<article class="post" id="p<id>">`` whose permalink
  is ``...?page=N#p<id>``.
* ``/api/v2/jobs?limit=5[&cursor=C]`` — a JSON listing API: ``{"data": {"results": [...]},
  "paging": {"next_cursor": C | null}}``; ETag and Last-Modified, 304 on a matching validator.
* ``/board/?p=N`` — a board whose ads open in a modal: cards ``div.card[data-ad-id]`` with a teaser,
  the modal is filled from ``/board/api/ads/<id>`` (JSON).
"""

from __future__ import annotations

import hashlib
import html
import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fixture_site.served import FixtureHandler, ServedSite
from vigil.app.local_http import LocalHTTPServer

CHANNEL = "vigilchan"
CHANNEL_PAGE = 5
THREAD_PAGE = 10
API_PAGE = 5
BOARD_PAGE = 6
LAST_MODIFIED = "Mon, 30 Nov 2026 08:00:00 GMT"

CITIES = ["Rotterdam", "Antwerp", "Lyon", "Hamburg", "Porto", "Milan"]


def _phone(n: int) -> str:
    return f"+44 7520 65{n:04d}"


def channel_posts() -> list[dict[str, Any]]:
    """17 posts, ids 101..117 (117 is the newest)."""
    return [
        {
            "id": 100 + n,
            "date": f"2026-11-{10 + n // 2:02d}T{8 + n % 10:02d}:15:00+00:00",
            "text": f"New girls arrived in {CITIES[n % len(CITIES)]} this week. Young and discreet, "
            f"24/7, text {_phone(100 + n)} on WhatsApp. Post number {n}.",
        }
        for n in range(1, 18)
    ]


def forum_threads() -> dict[int, dict[str, Any]]:
    """Two threads: 1 with 23 posts (3 pages), 2 with 6 posts; post ids 5001.. unique forum-wide."""
    ids = iter(range(5001, 6000))
    threads = {}
    for number, (title, count) in enumerate(
        [("Work abroad - experiences?", 23), ("Flat share offers", 6)], 1
    ):
        posts = []
        for n in range(count):
            post_id = next(ids)
            posts.append(
                {
                    "id": post_id,
                    "author": f"user{(post_id * 7) % 97}",
                    "text": f"Reply {n + 1} in '{title}': an agent offered me a job as a waitress in "
                    f"{CITIES[post_id % len(CITIES)]}, the agency will keep your passport until the debt is paid. "
                    f"His number was {_phone(post_id % 10000)}.",
                }
            )
        threads[number] = {"title": title, "posts": posts}
    return threads


def api_jobs() -> list[dict[str, Any]]:
    """12 job listings, newest first, refs J-512..J-501."""
    return [
        {
            "ref": f"J-{500 + n}",
            "headline": f"Seasonal workers wanted ({CITIES[n % len(CITIES)]})",
            "description": f"No experience needed, accommodation provided, salary paid after three months. "
            f"Transport and documents arranged by us. Contact {_phone(200 + n)}.",
            "employer": {"name": f"Agency {n}", "phone": _phone(200 + n)},
            "location": {"city": CITIES[n % len(CITIES)], "country": "NL"},
            "salary": {"amount": 1800 + 10 * n, "currency": "EUR"},
            "posted": f"2026-11-{n + 10:02d}T09:00:00Z",
            "links": {"self": f"/jobs/J-{500 + n}"},
        }
        for n in range(12, 0, -1)
    ]


def board_ads() -> list[dict[str, Any]]:
    """10 ads, ids 71..80, shown newest first (80 first)."""
    return [
        {
            "id": 70 + n,
            "title": f"Massage studio {CITIES[n % len(CITIES)]} #{n}",
            "text": f"Relaxing massage by new Asian girls, open day and night, call {_phone(300 + n)}.",
            "city": CITIES[n % len(CITIES)],
            "price": f"€{60 + n}",
        }
        for n in range(10, 0, -1)
    ]


@dataclass
class Feeds:
    posts: list[dict[str, Any]] = field(default_factory=channel_posts)
    threads: dict[int, dict[str, Any]] = field(default_factory=forum_threads)
    jobs: list[dict[str, Any]] = field(default_factory=api_jobs)
    board: list[dict[str, Any]] = field(default_factory=board_ads)
    hits: Counter = field(default_factory=Counter)
    not_modified: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _page(title: str, content: str) -> str:
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"</head><body>{content}</body></html>"
    )


class Handler(FixtureHandler):
    server_version = "VigilFeeds/1.0"
    disable_nagle_algorithm = True
    feeds: Feeds

    def do_GET(self) -> None:  # noqa: N802 - BaseHTTPRequestHandler's name
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        with self.feeds.lock:
            self.feeds.hits[path] += 1
        if path == "/robots.txt":
            return self._send(200, b"User-agent: *\nDisallow: /admin/\n", "text/plain")
        if path == f"/s/{CHANNEL}":
            return self._cached(self._channel(query), "text/html; charset=utf-8", path)
        if path.startswith(f"/{CHANNEL}/") and path.rsplit("/", 1)[1].isdigit():
            return self._channel_post(int(path.rsplit("/", 1)[1]))
        if path == "/forum/":
            return self._html(self._forum_index())
        if path.startswith("/forum/t/") and path[9:].isdigit():
            return self._thread(int(path[9:]), query)
        if path == "/api/v2/jobs":
            return self._cached(self._jobs(query), "application/json", path, last_modified=True)
        if path == "/board/":
            return self._html(self._board(query))
        if path.startswith("/board/api/ads/") and path[15:].isdigit():
            return self._board_ad(int(path[15:]))
        return self._send(404, b"<h1>Not found</h1>", "text/html")

    # -- channel preview -----------------------------------------------------------------------

    def _channel(self, query: dict[str, list[str]]) -> bytes:
        with self.feeds.lock:
            posts = sorted(self.feeds.posts, key=lambda p: p["id"])
        before = query.get("before", [""])[0]
        if before.isdigit():
            posts = [p for p in posts if p["id"] < int(before)]
        shown = posts[-CHANNEL_PAGE:]
        messages = "".join(
            f"<div class='tgme_widget_message_wrap'><div class='tgme_widget_message' "
            f"data-post='{CHANNEL}/{p['id']}'><div class='tgme_widget_message_author'>Vigil channel</div>"
            f"<div class='tgme_widget_message_text'>{html.escape(p['text'])}</div>"
            f"<a class='tgme_widget_message_date' href='/{CHANNEL}/{p['id']}'>"
            f"<time datetime='{p['date']}'>{p['date'][11:16]}</time></a></div></div>"
            for p in shown
        )
        more = (
            f"<a class='tme_messages_more js-messages_more' data-before='{shown[0]['id']}'></a>"
            if shown
            else ""
        )
        body = f"<header><h1>Vigil channel</h1></header><section class='tgme_channel_history'>{more}{messages}</section>"
        return _page("Vigil channel", body).encode()

    def _channel_post(self, post_id: int) -> None:
        with self.feeds.lock:
            post = next((p for p in self.feeds.posts if p["id"] == post_id), None)
        if post is None:
            return self._send(404, b"<h1>Not found</h1>", "text/html")
        return self._html(_page("Vigil channel", f"<p>{html.escape(post['text'])}</p>"))

    # -- forum ---------------------------------------------------------------------------------

    def _forum_index(self) -> str:
        links = "".join(
            f"<li><a class='thread' href='/forum/t/{n}'>{html.escape(t['title'])}</a> ({len(t['posts'])} replies)</li>"
            for n, t in self.feeds.threads.items()
        )
        return _page("Forum", f"<h1>General discussion</h1><ul class='threads'>{links}</ul>")

    def _thread(self, number: int, query: dict[str, list[str]]) -> None:
        thread = self.feeds.threads.get(number)
        page = int(query.get("page", ["1"])[0]) if query.get("page", ["1"])[0].isdigit() else 1
        if thread is None:
            return self._send(404, b"<h1>Not found</h1>", "text/html")
        posts = thread["posts"][(page - 1) * THREAD_PAGE : page * THREAD_PAGE]
        if not posts:
            return self._send(404, b"<h1>Not found</h1>", "text/html")
        articles = "".join(
            f"<article class='post' id='p{p['id']}'><header><span class='author'>{p['author']}</span>"
            f"<a class='permalink' href='/forum/t/{number}?page={page}#p{p['id']}'>#{p['id']}</a></header>"
            f"<div class='content'><p>{html.escape(p['text'])}</p></div>"
            f"<footer class='signature'>-- sent from my phone</footer></article>"
            for p in posts
        )
        has_next = page * THREAD_PAGE < len(thread["posts"])
        pager = f"<a class='next' href='/forum/t/{number}?page={page + 1}'>Next</a>" if has_next else ""
        return self._html(_page(thread["title"], f"<h1>{html.escape(thread['title'])}</h1>{articles}{pager}"))

    # -- JSON API ------------------------------------------------------------------------------

    def _jobs(self, query: dict[str, list[str]]) -> bytes:
        limit = int(query.get("limit", [str(API_PAGE)])[0])
        cursor = query.get("cursor", ["0"])[0]
        start = int(bytes.fromhex(cursor).decode()) if cursor != "0" else 0
        with self.feeds.lock:
            jobs = list(self.feeds.jobs)
        page = jobs[start : start + limit]
        following = start + limit
        next_cursor = str(following).encode().hex() if following < len(jobs) else None
        return json.dumps({"data": {"results": page}, "paging": {"next_cursor": next_cursor}}).encode()

    # -- modal board ---------------------------------------------------------------------------

    def _board(self, query: dict[str, list[str]]) -> str:
        page = int(query.get("p", ["1"])[0])
        with self.feeds.lock:
            ads = list(self.feeds.board)
        shown = ads[(page - 1) * BOARD_PAGE : page * BOARD_PAGE]
        cards = "".join(
            f"<div class='card' data-ad-id='{a['id']}'><h3>{html.escape(a['title'])}</h3>"
            f"<button class='open-modal'>Details</button></div>"
            for a in shown
        )
        pager = (
            f"<a class='next' href='/board/?p={page + 1}'>Next</a>" if page * BOARD_PAGE < len(ads) else ""
        )
        modal = "<div id='modal' hidden></div><script src='/board/app.js'></script>"
        return _page("Board", f"<h1>Board</h1><div class='grid'>{cards}</div>{pager}{modal}")

    def _board_ad(self, ad_id: int) -> None:
        with self.feeds.lock:
            ad = next((a for a in self.feeds.board if a["id"] == ad_id), None)
        if ad is None:
            return self._send(404, b'{"error": "not found"}', "application/json")
        return self._send(200, json.dumps({"ad": ad}).encode(), "application/json")

    # -- plumbing ------------------------------------------------------------------------------

    def _cached(self, body: bytes, kind: str, path: str, last_modified: bool = False) -> None:
        """ETag (and Last-Modified) on the response; 304 when the client's validator matches."""
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        headers = {"ETag": etag}
        if last_modified:
            headers["Last-Modified"] = LAST_MODIFIED
        if self.headers.get("If-None-Match") == etag:
            with self.feeds.lock:
                self.feeds.not_modified[path] += 1
            self.send_response(304)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            return
        self._send(200, body, kind, headers)

    def _html(self, text: str) -> None:
        self._send(200, text.encode("utf-8"), "text/html; charset=utf-8")

class FeedSite(ServedSite):
    """The four families, served from a thread; a context manager."""

    name = "fixture-feeds"

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.feeds = Feeds()
        self.host, self.port = host, port
        self._http: LocalHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def add_post(self, text: str) -> dict[str, Any]:
        """A new channel post, the newest; returns it with its ``url`` (permalink)."""
        with self.feeds.lock:
            post_id = max(p["id"] for p in self.feeds.posts) + 1
            post = {"id": post_id, "date": "2026-12-01T12:00:00+00:00", "text": text}
            self.feeds.posts.append(post)
        return {**post, "url": f"{self.url}{CHANNEL}/{post_id}"}

    def hits(self, path: str) -> int:
        with self.feeds.lock:
            return self.feeds.hits[path]

    def not_modified(self, path: str) -> int:
        with self.feeds.lock:
            return self.feeds.not_modified[path]

    def handler(self) -> type:
        return type("BoundFeedHandler", (Handler,), {"feeds": self.feeds})


def main() -> None:
    """Serve the feeds in the foreground: python -m tests.fixture_site.feeds [PORT]."""
    import sys
    import time

    site = FeedSite(port=int(sys.argv[1]) if len(sys.argv) > 1 else 8710).start()
    print(f"fixture feeds on {site.url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        site.stop()


if __name__ == "__main__":
    main()
