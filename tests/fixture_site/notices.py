"""A feed layout the example profiles have never seen, for the "profile from the docs alone" test.

    with NoticeSite() as site:
        site.url                        # "http://127.0.0.1:PORT/"
        site.notices                    # every notice, newest first

``/notices`` is a community notice board: a table, newest first, 8 rows a page. Each notice is a
``<tr data-key="N-2026-0042">`` with the date, the text and the poster's contact in cells; the
first row is a header without a key. Older notices are behind an "older" link whose cursor is the
timestamp of the last row shown (``/notices?until=2026-11-20T10:00``). There are no per-notice pages.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from tests.fixture_site.served import FixtureHandler, ServedSite
from vigil.app.local_http import LocalHTTPServer

PAGE = 8
TOWNS = ["Leeds", "Bristol", "Cardiff", "Glasgow", "Belfast"]


def all_notices() -> list[dict[str, Any]]:
    """21 notices, newest first."""
    notices = []
    for n in range(21, 0, -1):
        notices.append(
            {
                "key": f"N-2026-{n:04d}",
                "at": f"2026-11-{n:02d}T{(n * 5) % 24:02d}:00",
                "text": f"Room and work offered in {TOWNS[n % len(TOWNS)]}: cleaning and kitchen help, "
                f"cash only, we hold your ID for safety. Ask for Marek.",
                "contact": f"07520 66{n:04d}",
            }
        )
    return notices


class Handler(FixtureHandler):
    server_version = "NoticeBoard/0.9"
    notices: list[dict[str, Any]]

    def do_GET(self) -> None:  # noqa: N802 - BaseHTTPRequestHandler's name
        parts = urlsplit(self.path)
        if parts.path == "/robots.txt":
            return self._send(200, b"User-agent: *\nAllow: /\n", "text/plain")
        if parts.path != "/notices":
            return self._send(404, b"<p>no such page</p>", "text/html")
        until = parse_qs(parts.query).get("until", [""])[0]
        rows = [n for n in self.notices if not until or n["at"] < until][:PAGE]
        body = "".join(
            f"<tr data-key='{n['key']}'><td class='when'>{n['at'].replace('T', ' ')}</td>"
            f"<td>{html.escape(n['text'])}</td><td><span>tel.</span> {n['contact']}</td></tr>"
            for n in rows
        )
        older = (
            f"<p class='nav'><a href='/notices?until={quote(rows[-1]['at'])}'>older notices &raquo;</a></p>"
            if rows and rows[-1] is not self.notices[-1]
            else ""
        )
        page = (
            "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Notices</title></head><body>"
            "<h1>Community notices</h1><table id='board'><tr><th>date</th><th>notice</th><th>contact</th></tr>"
            f"{body}</table>{older}</body></html>"
        )
        return self._send(200, page.encode(), "text/html; charset=utf-8")


class NoticeSite(ServedSite):
    name = "fixture-notices"

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.notices = all_notices()
        self.host, self.port = host, port
        self._http: LocalHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def handler(self) -> type:
        return type("BoundNoticeHandler", (Handler,), {"notices": self.notices})
