"""WARC files of one crawl: request, response and metadata records, rolled by size.

Each record is its own gzip member (what warcio and every WARC tool expect), so a Capture's
``offset``/``length`` cut one complete record out of the file. Digests are SHA-256 (base32, the
WARC convention): ``WARC-Block-Digest`` over the record block, ``WARC-Payload-Digest`` over the
entity body as received (still content-encoded; transfer encoding removed by the HTTP client).
A file is written under its spool name with ``.open`` appended, buffered and never fsynced per
record; on roll or close it is renamed to its final name, which mirrors its object name in the
evidence store (``warc/YYYY/MM/DD/<prefix>-<timestamp>-<n>.warc.gz``), and handed to
``on_closed`` (crawlers/evidence.py stores it).
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from vigil.core.records import Capture

OPEN_SUFFIX = ".open"
GZIP_LEVEL = 6  # zlib's default: level 9 (warcio's) costs twice the CPU for ~2% smaller files
BUFFER_BYTES = 1024 * 1024
UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# Headers that describe how the HTTP client received the body, not the body it stored.
HOP_HEADERS = frozenset({"transfer-encoding"})


def sha256_digest(data: bytes) -> str:
    return "sha256:" + base64.b32encode(hashlib.sha256(data).digest()).decode("ascii")


def object_name(prefix: str, when: datetime, number: int) -> str:
    """``warc/YYYY/MM/DD/<prefix>-<timestamp>-<n>.warc.gz`` (prefix reduced to safe characters)."""
    safe = UNSAFE.sub("_", prefix).strip("._-") or "crawl"
    return f"warc/{when:%Y/%m/%d}/{safe[:80]}-{when:%Y%m%dT%H%M%S%fZ}-{number}.warc.gz"


class WarcWriter:
    """The crawl's current WARC file; ``write_exchange`` returns the response record's Capture."""

    def __init__(
        self,
        spool: Path,
        prefix: str,
        max_bytes: int,
        on_closed: Callable[[Path, str], None],
        software: str = "Vigil",
    ):
        self.spool = spool
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.on_closed = on_closed
        self.software = software
        self.number = 0
        self.name: str | None = None
        self.path: Path | None = None
        self.handle: io.BufferedWriter | None = None
        self.records = WARCWriter(None, gzip=False, warc_version="1.1")

    # -- files ------------------------------------------------------------------------------
    def _open(self) -> None:
        self.number += 1
        self.name = object_name(self.prefix, datetime.now(UTC), self.number)
        self.path = self.spool / self.name
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.handle = open(self.path.with_name(self.path.name + OPEN_SUFFIX), "wb", buffering=BUFFER_BYTES)  # noqa: SIM115
        info = self.records.create_warcinfo_record(
            self.path.name, {"software": self.software, "format": "WARC File Format 1.1", "isPartOf": self.prefix}
        )
        self._write(info)

    def _write(self, record) -> tuple[int, int]:
        """Append one record as its own gzip member; its offset and length in the file."""
        raw = io.BytesIO()
        self.records.out = raw
        self.records.write_record(record)
        compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS + 16)
        member = compressor.compress(raw.getvalue()) + compressor.flush()
        offset = self.handle.tell()
        self.handle.write(member)
        return offset, len(member)

    def _roll_if_full(self) -> None:
        if self.handle is not None and self.handle.tell() >= self.max_bytes:
            self.close()

    def close(self) -> None:
        """Finish the current file (if any) and hand it to ``on_closed``."""
        if self.handle is None:
            return
        handle, path, name = self.handle, self.path, self.name
        self.handle = self.path = self.name = None
        handle.close()
        path.with_name(path.name + OPEN_SUFFIX).replace(path)
        self.on_closed(path, name)

    # -- records ----------------------------------------------------------------------------
    def _record(self, uri: str, kind: str, payload: bytes, http: StatusAndHeaders | None, headers: dict[str, str]):
        block = payload
        if http is not None:
            http.compute_headers_buffer()
            block = http.headers_buff + payload
        headers = {"WARC-Block-Digest": sha256_digest(block), **headers}
        if http is not None and kind in ("request", "response"):
            headers["WARC-Payload-Digest"] = sha256_digest(payload)
        return self.records.create_warc_record(
            uri,
            kind,
            payload=io.BytesIO(payload),
            length=len(payload),
            warc_headers_dict=headers,
            http_headers=http,
            warc_content_type="application/json" if kind == "metadata" else "",
        )

    def write_exchange(
        self,
        url: str,
        *,
        method: str,
        request_headers: list[tuple[str, str]],
        request_body: bytes,
        protocol: str,
        status: int,
        reason: str,
        response_headers: list[tuple[str, str]],
        payload: bytes,
        ip_address: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> Capture:
        """A request and its response; the response record's Capture (the file it will have in
        the store, its gzip member's offset and length, record id, payload SHA-256)."""
        if self.handle is None:
            self._open()
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        received = [(k, v) for k, v in response_headers if k.lower() not in HOP_HEADERS]
        response_http = StatusAndHeaders(f"{status} {reason}".strip(), received, protocol=protocol or "HTTP/1.1")
        common = {"WARC-Date": self.records.curr_warc_date()}
        if ip_address:
            common["WARC-IP-Address"] = ip_address
        response = self._record(url, "response", payload, response_http, {**common, **(extra or {})})
        response_id = response.rec_headers.get_header("WARC-Record-ID")
        request_http = StatusAndHeaders(f"{method} {target} HTTP/1.1", request_headers, is_http_request=True)
        request = self._record(url, "request", request_body, request_http, {**common, "WARC-Concurrent-To": response_id})
        offset, length = self._write(response)
        self._write(request)
        capture = Capture(
            warc_file=self.name,
            offset=offset,
            length=length,
            record_id=response_id,
            payload_sha256=hashlib.sha256(payload).hexdigest(),
        )
        self._roll_if_full()
        return capture

    def write_metadata(self, capture: Capture, url: str, document: bytes) -> None:
        """A metadata record (JSON) about the response ``capture`` names (WARC-Concurrent-To)."""
        if self.handle is None:
            self._open()
        self._write(self._record(url, "metadata", document, None, {"WARC-Concurrent-To": capture.record_id}))
        self._roll_if_full()
