"""Evidence capture in the crawl (docs/evidence.md): every fetch as received, in WARC files in the
evidence store, and a Capture reference on every published record.

* ``CaptureMiddleware`` (downloader middleware, next to the download handler) writes each request
  and its response as received -- before decompression, redirects and the spider's decoding --
  and leaves the response record's Capture in ``request.meta["vigil_capture"]`` for the spider;
  a render_js page's full-page screenshot (crawlers/rendering.py; images blocked unless the
  profile allows them) is stored beside it, ``screenshots/YYYY/MM/DD/<sha256>.png``.
* ``EvidencePipeline`` (item pipeline, before publishing) writes one ``metadata`` record per
  published record: the RawPage as JSON, without the body of a page (replay decodes it again from
  the response record), with the body of an item (the profile cut it out of its page).
* Finished files wait in the spool (``<state_dir>/evidence-spool/<store hash>/``, named as in the
  store) until the store holds them. A store that fails does not fail the crawl: the error names the store
  and the cause, the file stays in the spool, and the next crawl on this machine stores it when it
  closes (or ``store_spooled(settings)`` does).

Off with ``evidence.capture: false`` or when the crawl publishes nothing (the profile workbench).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from scrapy.exceptions import NotConfigured

from crawlers.config import vigil_settings
from crawlers.rendering import take_screenshot
from crawlers.warc import OPEN_SUFFIX, WarcWriter
from vigil.core.evidence import EvidenceError, EvidenceStore, open_store
from vigil.core.records import Capture, RawPage

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from vigil.core.config import Settings

logger = logging.getLogger(__name__)

META = "vigil_capture"
# Fields of a page's RawPage that replay decodes again from the response record instead.
FROM_RESPONSE = {"body"}


def spool_dir(settings: Settings, store: EvidenceStore) -> Path:
    """``<state_dir>/evidence-spool/<store>``: one folder per store, so a file is only ever
    stored where its Capture says it is."""
    return settings.state_dir / "evidence-spool" / hashlib.sha256(store.uri.encode()).hexdigest()[:16]


def screenshot_name(digest: str, when) -> str:
    return f"screenshots/{when:%Y/%m/%d}/{digest}.png"


class Spool:
    """Finished evidence files, named as in the store, until the store holds them."""

    def __init__(self, root: Path, store: EvidenceStore):
        self.root = root
        self.store = store
        self.lock = threading.Lock()
        self.failures: list[str] = []

    def store_file(self, path: Path, name: str) -> bool:
        """Store one file and delete it from the spool; on failure keep it and say why."""
        try:
            self.store.put_file(name, path)
        except FileNotFoundError:
            return True  # another crawl on this machine stored it first
        except (EvidenceError, OSError) as exc:
            message = f"evidence store {self.store.uri} refused {name}: {exc}; kept in {path} for the next crawl"
            logger.error(message)
            with self.lock:
                self.failures.append(message)
            return False
        path.unlink(missing_ok=True)
        self._prune(path.parent)
        return True

    def _prune(self, folder: Path) -> None:
        """Remove the spool's emptied day folders (not the spool itself)."""
        while folder != self.root and self.root in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent

    def pending(self) -> list[tuple[Path, str]]:
        if not self.root.exists():
            return []
        return [
            (path, path.relative_to(self.root).as_posix())
            for path in sorted(self.root.rglob("*"))
            if path.is_file() and not path.name.endswith((OPEN_SUFFIX, ".part"))
        ]

    def store_all(self) -> tuple[int, int]:
        """Store every finished file in the spool: (stored, kept)."""
        stored = kept = 0
        for path, name in self.pending():
            if self.store_file(path, name):
                stored += 1
            else:
                kept += 1
        return stored, kept


def store_spooled(settings: Settings) -> tuple[int, int]:
    """Store what earlier crawls left in this machine's spool: (stored, kept)."""
    store = open_store(settings)
    return Spool(spool_dir(settings, store), store).store_all()


class EvidenceSession:
    """One crawl's WARC writer, spool and background uploads (shared by the middleware and pipeline)."""

    def __init__(self, crawler: Crawler, settings: Settings):
        self.crawler = crawler
        self.settings = settings
        self.store = open_store(settings)
        self.spool = Spool(spool_dir(settings, self.store), self.store)
        self.uploads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evidence-upload")
        self.writer: WarcWriter | None = None
        self.closed = False

    def _writer(self) -> WarcWriter:
        if self.writer is None:
            spider = self.crawler.spider
            profile = getattr(getattr(spider, "profile", None), "id", None) or getattr(spider, "name", "crawl")
            if hasattr(self.store, "ensure_bucket"):
                try:
                    self.store.ensure_bucket()
                except EvidenceError as exc:
                    logger.error("%s; WARC files stay in %s until it answers", exc, self.spool.root)
            self.writer = WarcWriter(self.spool.root, profile, self.settings.evidence.warc_max_bytes, self._finished)
        return self.writer

    def _finished(self, path: Path, name: str) -> None:
        self.crawler.stats.inc_value("vigil/evidence/warc_files")
        self.uploads.submit(self.spool.store_file, path, name)

    def capture(self, request, response) -> Capture:
        ip = getattr(response, "ip_address", None)
        status = response.status
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
        capture = self._writer().write_exchange(
            response.url,
            method=request.method,
            request_headers=_headers(request.headers),
            request_body=request.body or b"",
            protocol=getattr(response, "protocol", None) or "HTTP/1.1",
            status=status,
            reason=reason,
            response_headers=_headers(response.headers),
            payload=response.body,
            ip_address=str(ip) if ip is not None else None,
            extra={"WARC-Vigil-Render": "chromium-dom"} if "playwright" in response.flags else None,
        )
        self.crawler.stats.inc_value("vigil/evidence/responses")
        screenshot = take_screenshot(request)
        if screenshot:
            self._screenshot(capture, screenshot)
        return capture

    def _screenshot(self, capture: Capture, png: bytes) -> None:
        from datetime import UTC, datetime

        if len(png) > self.settings.evidence.screenshot_max_bytes:
            self.crawler.stats.inc_value("vigil/evidence/screenshot_too_large")
            logger.warning("screenshot of %s not kept: %d bytes", capture.record_id, len(png))
            return
        digest = hashlib.sha256(png).hexdigest()
        name = screenshot_name(digest, datetime.now(UTC))
        path = self.spool.root / name
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_bytes(png)
        capture.screenshot, capture.screenshot_sha256 = name, digest
        self.crawler.stats.inc_value("vigil/evidence/screenshots")
        self.uploads.submit(self.spool.store_file, path, name)

    def metadata(self, page: RawPage) -> None:
        exclude = FROM_RESPONSE if page.item_of is None else set()
        document = page.model_dump_json(exclude=exclude).encode("utf-8")
        self._writer().write_metadata(page.capture, page.url, document)

    def close(self) -> None:
        """Finish the WARC file, wait for the uploads, retry what earlier crawls left in the spool."""
        if self.closed:
            return
        self.closed = True
        if self.writer is not None:
            self.writer.close()
        self.uploads.shutdown(wait=True)
        self.spool.store_all()
        stats = self.crawler.stats
        if self.spool.failures:
            stats.set_value("vigil/errors/evidence_store", len(self.spool.failures))
            stats.set_value("vigil/evidence/error", self.spool.failures[0])


def _headers(headers) -> list[tuple[str, str]]:
    return [
        (name.decode("latin-1"), value.decode("latin-1")) for name, values in headers.items() for value in values
    ]


_sessions: WeakKeyDictionary = WeakKeyDictionary()


def session_for(crawler: Crawler) -> EvidenceSession:
    """The crawl's one evidence session; NotConfigured when capture is off."""
    session = _sessions.get(crawler)
    if session is None:
        if not crawler.settings.getbool("VIGIL_PUBLISH_ENABLED", True):
            raise NotConfigured("no evidence capture: this crawl publishes nothing")
        settings = vigil_settings(crawler.settings)
        if not settings.evidence.capture:
            raise NotConfigured("evidence capture is off (evidence.capture)")
        session = _sessions[crawler] = EvidenceSession(crawler, settings)
    return session


class CaptureMiddleware:
    """Downloader middleware next to the handler: each response as received, into the WARC file."""

    def __init__(self, session: EvidenceSession):
        self.session = session

    @classmethod
    def from_crawler(cls, crawler) -> CaptureMiddleware:
        return cls(session_for(crawler))

    def process_request(self, request) -> None:
        # A redirect or retry copies the meta of the request before it; its capture is not this one's.
        request.meta.pop(META, None)

    def process_response(self, request, response):
        request.meta[META] = self.session.capture(request, response)
        return response


class EvidencePipeline:
    """Item pipeline before publishing: the metadata record of every record that has a capture."""

    def __init__(self, session: EvidenceSession):
        self.session = session

    @classmethod
    def from_crawler(cls, crawler) -> EvidencePipeline:
        return cls(session_for(crawler))

    def process_item(self, item):
        if isinstance(item, RawPage) and item.capture is not None:
            self.session.metadata(item)
        return item

    def close_spider(self) -> None:
        self.session.close()
