"""Conditional re-crawls: the ETag and Last-Modified of a profile's listing pages, kept between crawls.

An incremental re-crawl sends ``If-None-Match`` / ``If-Modified-Since`` for a listing it has read
before; a server that supports them answers ``304 Not Modified`` and the page (and the paging below
it) is skipped. One small JSON file per profile under ``crawl.validators_dir``; a broken or
oversized file is ignored (the crawl then fetches everything, as a full crawl does).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_ENTRIES = 20000


class Validators:
    def __init__(self, path: Path):
        self.path = path
        self.entries: dict[str, dict[str, str]] = {}
        self.changed = False
        try:
            if path.stat().st_size <= MAX_FILE_BYTES:
                loaded = json.loads(path.read_text(encoding="utf-8"))
                if isinstance(loaded, dict):
                    self.entries = {k: v for k, v in loaded.items() if isinstance(v, dict)}
        except (OSError, ValueError):
            self.entries = {}

    def headers(self, key: str) -> dict[str, str]:
        """Conditional request headers for a page read before; {} otherwise."""
        known = self.entries.get(key) or {}
        headers: dict[str, str] = {}
        if known.get("etag"):
            headers["If-None-Match"] = known["etag"]
        if known.get("last_modified"):
            headers["If-Modified-Since"] = known["last_modified"]
        return headers

    def remember(self, key: str, etag: str | None, last_modified: str | None) -> None:
        entry = {k: v for k, v in (("etag", etag), ("last_modified", last_modified)) if v}
        if not entry:
            if self.entries.pop(key, None) is not None:
                self.changed = True
            return
        if self.entries.get(key) != entry:
            self.entries.pop(key, None)
            self.entries[key] = entry
            while len(self.entries) > MAX_ENTRIES:
                self.entries.pop(next(iter(self.entries)))
            self.changed = True

    def save(self) -> None:
        if not self.changed:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.entries, sort_keys=True), encoding="utf-8")
        tmp.replace(self.path)
        self.changed = False
