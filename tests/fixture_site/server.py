"""A classifieds board on 127.0.0.1 for the crawler tests, the Tor tests, monitoring and the demo.

    with FixtureSite() as site:          # serves in a thread on a free port
        site.url                         # "http://127.0.0.1:PORT/"
        site.add_ad(title=..., body=...) # a new ad, listed first in its category from now on

Categories with paginated listings (``/category/<slug>?page=N``, ``a.next``), ad pages
(``/ad/<id>``), the project's multilingual ads (ads.yaml) and, when ../shared/data/dig-ads is
present, the real ads of ads-sample.json (category ``us-escorts``, ids 1000 + their id). The
footer of the home page links the awkward cases a crawler must handle: a robots.txt-disallowed
page, a redirect, a 404, a 503 that recovers on retry, a 20 MB page, a PDF, a gzip bomb and a link
to 127.0.0.2 (``blocked_url``); robots.txt names ``/sitemap.xml`` (every ad but the JavaScript-only ones). ``/category/js`` builds its ad links with JavaScript.
"""

from __future__ import annotations

import gzip
import html
import itertools
import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import phonenumbers
import yaml

from tests.fixture_site.served import FixtureHandler, ServedSite
from vigil.app.demo import dig_sample
from vigil.app.local_http import LocalHTTPServer

HERE = Path(__file__).resolve().parent
ADS_FILE = HERE / "ads.yaml"
REAL_ADS_FILE = dig_sample.DEFAULT_PATH
REAL_ATTRIBUTES_FILE = "ads-attributes-sample-100.json"
PAGE_SIZE = 5
HUGE_BYTES = 20 * 1024 * 1024
BOMB_BYTES = 64 * 1024 * 1024
REAL_ID_OFFSET = 1000

CATEGORIES = {
    "escorts": "Escorts & companions",
    "jobs": "Jobs abroad",
    "other": "Other",
    "js": "Featured (new board)",
    "us-escorts": "US escorts (archive 2013)",
    "archive": "Old board archive",
}
NAV_CATEGORIES = ["escorts", "jobs", "other", "js", "us-escorts"]


def load_ads() -> list[dict[str, Any]]:
    """The project's own ads, as written in ads.yaml (with their expected entities)."""
    return yaml.safe_load(ADS_FILE.read_text(encoding="utf-8"))


def us_e164(value: str) -> str | None:
    """A phone as the DIG oracle states it, in E.164 (read as a US number); None when invalid."""
    try:
        number = phonenumbers.parse(value, "US")
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) if phonenumbers.is_valid_number(number) else None


def _source_phones(row: dict[str, Any], oracle: list[dict[str, Any]]) -> list[str]:
    """The phones the data set states for one ad (its ``phone`` field and the attribute rows of
    ads-attributes-sample-100.json), in E.164; values that are no valid US number are dropped (the
    attribute extractor once read the CSS colour rgb(17, 85, 204) as a phone)."""
    values = [row.get("phone") or ""] + [
        r["value"] for r in oracle if r.get("ads_id") == row["id"] and r.get("attribute") == "phone"
    ]
    return sorted({e164 for e164 in map(us_e164, values) if e164})


def load_real_ads(path: Path = REAL_ADS_FILE) -> list[dict[str, Any]]:
    """Real escort ads from the DIG sample as fixture ads; [] when the data set is absent. They are
    marked ``real``: their ``expected`` holds only what the data set states, their phones."""
    if not path.is_file():
        return []
    oracle_file = path.with_name(REAL_ATTRIBUTES_FILE)
    oracle = json.loads(oracle_file.read_text(encoding="utf-8")) if oracle_file.is_file() else []
    ads = []
    for row in json.loads(path.read_text(encoding="utf-8")):
        ads.append(
            {
                "id": REAL_ID_OFFSET + int(row["id"]),
                "category": "us-escorts",
                "language": "en",
                "country": "US",
                "title": row.get("title", ""),
                "body": row.get("text", ""),
                "price": "",
                "location": row.get("city", ""),
                "posted": (row.get("posttime") or "2013-11-03 00:00:00").replace(" ", "T")[:19] + "Z",
                "source_url": row.get("url"),
                "real": True,
                "expected": {"phones": _source_phones(row, oracle)},
            }
        )
    return ads


@dataclass
class Board:
    """The board's state: ads by category, newest first, and per-path request counters."""

    ads: list[dict[str, Any]]
    hits: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_id: itertools.count = field(default_factory=lambda: itertools.count(5000))

    def by_id(self, ad_id: int) -> dict[str, Any] | None:
        with self.lock:
            return next((a for a in self.ads if a["id"] == ad_id), None)

    def in_category(self, slug: str) -> list[dict[str, Any]]:
        with self.lock:
            return [a for a in self.ads if a["category"] == slug]


def _page(title: str, content: str, lang: str = "en", charset: str = "utf-8", head: str = "") -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="{charset}">'
        f"<title>{html.escape(title)} - Vigil test board</title>{head}</head>\n<body>"
        f'<header><a class="home" href="/">Vigil test board</a></header>\n{content}\n</body></html>\n'
    )


def _ad_list(ads: list[dict[str, Any]]) -> str:
    items = "".join(
        f'<li><a class="ad-link" href="/ad/{a["id"]}">{html.escape(a["title"])}</a>'
        f' <span class="location">{html.escape(str(a.get("location", "")))}</span></li>\n'
        for a in ads
    )
    return f'<ul class="ads">\n{items}</ul>'


class Handler(FixtureHandler):
    server_version = "VigilFixture/1.0"
    disable_nagle_algorithm = True
    board: Board
    site: FixtureSite

    def do_GET(self) -> None:  # noqa: N802 - BaseHTTPRequestHandler's name
        parts = urlsplit(self.path)
        path = parts.path
        with self.board.lock:
            self.board.hits[path] += 1
            hits = self.board.hits[path]
        query = parse_qs(parts.query)
        if path == "/":
            return self._html(self._home())
        if path == "/robots.txt":
            robots = f"User-agent: *\nDisallow: /private/\nSitemap: {self.site.url}sitemap.xml\n"
            return self._send(200, robots.encode(), "text/plain")
        if path == "/sitemap.xml":
            return self._send(200, self._sitemap(), "application/xml")
        if path.startswith("/category/"):
            return self._category(path.removeprefix("/category/"), query)
        if path.startswith("/ad/") and path[4:].isdigit():
            return self._ad(int(path[4:]))
        if path == "/old-board":
            return self._redirect("/category/archive")
        if path == "/flaky":
            if hits == 1:
                return self._send(503, b"<h1>Service temporarily unavailable</h1>", "text/html")
            return self._html(_page("Notices", "<h1>Notices</h1><p>Board maintenance is over.</p>"))
        if path == "/huge":
            return self._send(200, self.site.huge_page(), "text/html; charset=utf-8")
        if path == "/files/price-list.pdf":
            return self._send(200, b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n%%EOF\n", "application/pdf")
        if path == "/bomb":
            return self._send(200, self.site.bomb(), "text/html", {"Content-Encoding": "gzip"})
        if path.startswith("/private/"):
            return self._html(_page("Moderation", "<h1>Moderators only</h1>"))
        return self._send(404, b"<h1>Not found</h1>", "text/html")

    def _home(self) -> str:
        nav = "".join(
            f'<li><a class="category" href="/category/{slug}">{html.escape(CATEGORIES[slug])}</a></li>'
            for slug in NAV_CATEGORIES
            if self.board.in_category(slug)
        )
        footer = "".join(
            f'<li><a href="{href}">{label}</a></li>'
            for href, label in [
                ("/private/moderation", "Moderation"),
                ("/old-board", "Old board"),
                ("/missing-page", "Help"),
                ("/flaky", "Notices"),
                ("/huge", "Full archive (single page)"),
                ("/files/price-list.pdf", "Price list (PDF)"),
                ("/bomb", "Statistics"),
                (self.site.blocked_url, "Partner board"),
            ]
        )
        content = (
            f'<h1>Classifieds</h1>\n<nav><ul class="categories">{nav}</ul></nav>\n'
            f'<footer><ul class="notes">{footer}</ul></footer>'
        )
        return _page("Classifieds", content)

    def _sitemap(self) -> bytes:
        """Every ad except the JavaScript-only ones, as a sitemaps.org urlset."""
        with self.board.lock:
            ids = [a["id"] for a in self.board.ads if not a.get("js_only")]
        urls = "".join(f"<url><loc>{self.site.ad_url(i)}</loc></url>" for i in ids)
        return (f'<?xml version="1.0" encoding="UTF-8"?>'
                f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>').encode()

    def _category(self, slug: str, query: dict[str, list[str]]) -> None:
        if slug not in CATEGORIES:
            return self._send(404, b"<h1>No such category</h1>", "text/html")
        ads = self.board.in_category(slug)
        if slug == "js":
            return self._html(self._js_listing(ads))
        try:
            page = max(1, int(query.get("page", ["1"])[0]))
        except ValueError:
            page = 1
        shown = ads[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        if not shown and page > 1:
            return self._send(404, b"<h1>No such page</h1>", "text/html")
        pager = ""
        if page * PAGE_SIZE < len(ads):
            pager = f'<a class="next" href="/category/{slug}?page={page + 1}">Next page</a>'
        content = f"<h1>{html.escape(CATEGORIES[slug])}</h1>\n{_ad_list(shown)}\n<div class='pager'>{pager}</div>"
        return self._html(_page(CATEGORIES[slug], content))

    def _js_listing(self, ads: list[dict[str, Any]]) -> str:
        data = json.dumps([{"id": a["id"], "title": a["title"]} for a in ads]).replace("</", "<\\/")
        script = (
            "<script>\nconst ads = " + data + ";\n"
            "window.addEventListener('DOMContentLoaded', () => setTimeout(() => {\n"
            "  const list = document.getElementById('ads');\n"
            "  for (const ad of ads) {\n"
            "    const item = document.createElement('li'); const link = document.createElement('a');\n"
            "    link.className = 'ad-link'; link.href = '/ad/' + ad.id; link.textContent = ad.title;\n"
            "    item.appendChild(link); list.appendChild(item);\n"
            "  }\n}, 150));\n</script>"
        )
        content = f'<h1>{html.escape(CATEGORIES["js"])}</h1>\n<ul class="ads" id="ads"></ul>\n{script}'
        return _page(CATEGORIES["js"], content)

    def _ad(self, ad_id: int) -> None:
        ad = self.board.by_id(ad_id)
        if ad is None:
            return self._send(404, b"<h1>This ad was removed</h1>", "text/html")
        charset = ad.get("charset", "utf-8")
        paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in str(ad["body"]).splitlines() if line)
        content = (
            f'<article class="ad" data-id="{ad["id"]}">\n<h1>{html.escape(ad["title"])}</h1>\n'
            f'<div class="meta"><span class="price">{html.escape(str(ad.get("price", "")))}</span>\n'
            f'<span class="location">{html.escape(str(ad.get("location", "")))}</span>\n'
            f'<time datetime="{ad.get("posted", "")}">{ad.get("posted", "")[:10]}</time></div>\n'
            f'<div class="description">{paragraphs}</div>\n'
            f'<a class="back" href="/category/{ad["category"]}">Back to the listing</a></article>'
        )
        body = _page(ad["title"], content, lang=ad.get("language", "en"), charset=charset).encode(
            charset, errors="xmlcharrefreplace"
        )
        if ad.get("broken_bytes"):
            body = body.replace(b"</article>", b"<p>\xff\xfe\xfa broken</p></article>")
        self._send(200, body, f"text/html; charset={charset}")

    def _html(self, text: str) -> None:
        self._send(200, text.encode("utf-8"), "text/html; charset=utf-8")

    def _redirect(self, location: str) -> None:
        self.send_response(301)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

class FixtureSite(ServedSite):
    """The board, served from a thread; a context manager (start/stop also work)."""

    name = "fixture-site"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, real_ads: bool = True, blocked_host: str = "127.0.0.2"):
        ads = [dict(a) for a in load_ads()]
        if real_ads:
            ads.extend(load_real_ads())
        self.board = Board(ads=ads)
        self.host, self.port = host, port
        self.blocked_host = blocked_host
        self._http: LocalHTTPServer | None = None
        self._huge: bytes | None = None
        self._bomb: bytes | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    @property
    def blocked_url(self) -> str:
        return f"http://{self.blocked_host}:{self.port}/partner-board"

    @property
    def ads(self) -> list[dict[str, Any]]:
        with self.board.lock:
            return list(self.board.ads)

    def ad_url(self, ad_id: int) -> str:
        return f"{self.url}ad/{ad_id}"

    def hits(self, path: str) -> int:
        """How often ``path`` was requested (e.g. to prove a refused URL was never fetched)."""
        with self.board.lock:
            return self.board.hits[path]

    def add_ad(self, title: str, body: str, category: str = "escorts", **fields: Any) -> dict[str, Any]:
        """Post a new ad now: listed first in its category; returns it (with ``id`` and ``url``)."""
        if category not in CATEGORIES:
            raise ValueError(f"unknown category {category!r}; one of {sorted(CATEGORIES)}")
        with self.board.lock:
            ad_id = fields.pop("id", None) or next(self.board.next_id)
            ad = {"id": int(ad_id), "category": category, "language": "en", "title": title, "body": body,
                  "price": "", "location": "", "posted": "", **fields}
            self.board.ads.insert(0, ad)
        return {**ad, "url": self.ad_url(ad["id"])}

    def edit_ad(self, ad_id: int, **fields: Any) -> dict[str, Any]:
        """Change a posted ad in place (its title, body, price, ...), as its poster would."""
        with self.board.lock:
            ad = next(a for a in self.board.ads if a["id"] == ad_id)
            ad.update(fields)
            return {**ad, "url": self.ad_url(ad_id)}

    def huge_page(self) -> bytes:
        if self._huge is None:
            line = b"<p>Archived notice: rooms available, call the office for details.</p>\n"
            filler = line * (HUGE_BYTES // len(line) + 1)
            self._huge = (b"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Archive</title></head><body>"
                          b"<h1>Full archive</h1>" + filler + b"</body></html>")
        return self._huge

    def bomb(self) -> bytes:
        if self._bomb is None:
            self._bomb = gzip.compress(b"<html><body>" + b"\0" * BOMB_BYTES, compresslevel=9)
        return self._bomb

    def handler(self) -> type:
        return type("BoundHandler", (Handler,), {"board": self.board, "site": self})


def main() -> None:
    """Serve the board in the foreground: python -m tests.fixture_site.server [PORT]."""
    import sys
    import time

    site = FixtureSite(port=int(sys.argv[1]) if len(sys.argv) > 1 else 8700).start()
    print(f"fixture board on {site.url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        site.stop()


if __name__ == "__main__":
    main()
