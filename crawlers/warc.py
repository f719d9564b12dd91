"""WARC files of one crawl: request, response and metadata records, rolled by size.

Records are serialised here (WARC/1.1; warcio's writer cost three times as much per page) and
checked by warcio's own checker in the tests. Each record is its own gzip member (what warcio
and every WARC tool expect), so a Capture's
``offset``/``length`` cut one complete record out of the file. Digests are SHA-256 (hex): ``WARC-Block-Digest`` over the record block, ``WARC-Payload-Digest`` over the
entity body as received (still content-encoded; transfer encoding removed by the HTTP client).
A file is written under its spool name with ``.open`` appended, buffered and never fsynced per
record; on roll or close it is renamed to its final name, which mirrors its object name in the
evidence store (``warc/YYYY/MM/DD/<prefix>-<timestamp>-<n>.warc.gz``), and handed to
``on_closed`` (crawlers/evidence.py stores it).
"""

from __future__ import annotations

import hashlib
import io
import re
import uuid
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from vigil.core.records import Capture

OPEN_SUFFIX = ".open"
GZIP_LEVEL = 6  # zlib's default: level 9 (warcio's) costs twice the CPU for ~2% smaller files
BUFFER_BYTES = 1024 * 1024
UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# Headers that describe how the HTTP client received the body, not the body it stored.
HOP_HEADERS = frozenset({"transfer-encoding"})
CONTENT_TYPES = {
    "request": "application/http; msgtype=request",
    "response": "application/http; msgtype=response",
    "metadata": "application/json",
    "warcinfo": "application/warc-fields",
}


def sha256_digest(data: bytes) -> str:
    """``sha256:<hex>``: base16, one of the RFC 4648 encodings the WARC standard allows (warcio
    checks it); Python's base32 is pure Python and cost a fifth of the writing."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def object_name(prefix: str, when: datetime, number: int) -> str:
    """``warc/YYYY/MM/DD/<prefix>-<timestamp>-<n>.warc.gz`` (prefix reduced to safe characters)."""
    safe = UNSAFE.sub("_", prefix).strip("._-") or "crawl"
    return f"warc/{when:%Y/%m/%d}/{safe[:80]}-{when:%Y%m%dT%H%M%S%fZ}-{number}.warc.gz"


def http_block(start_line: str, headers: list[tuple[str, str]], payload: bytes) -> tuple[bytes, bytes]:
    """The HTTP message as received: start line and headers (latin-1, as Scrapy decoded them), and
    the block with the payload appended."""
    lines = [start_line, *(f"{name}: {value}" for name, value in headers)]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", errors="replace")
    return head, head + payload


def warc_date() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def record_id() -> str:
    return f"<urn:uuid:{uuid.uuid4()}>"


def warc_record(kind: str, block: bytes, headers: dict[str, str], payload: bytes | None = None) -> tuple[str, bytes]:
    """One WARC record (its id, its bytes): ``headers`` plus type, id, digests, type and length."""
    rid = headers.pop("WARC-Record-ID", None) or record_id()
    fields = {"WARC-Type": kind, "WARC-Record-ID": rid, **headers, "WARC-Block-Digest": sha256_digest(block)}
    if payload is not None:
        fields["WARC-Payload-Digest"] = sha256_digest(payload)
    fields["Content-Type"] = CONTENT_TYPES[kind]
    fields["Content-Length"] = str(len(block))
    text = "WARC/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
    return rid, text.encode("utf-8") + block + b"\r\n\r\n"


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

    # -- files ------------------------------------------------------------------------------
    def _open(self) -> None:
        self.number += 1
        self.name = object_name(self.prefix, datetime.now(UTC), self.number)
        self.path = self.spool / self.name
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.handle = open(self.path.with_name(self.path.name + OPEN_SUFFIX), "wb", buffering=BUFFER_BYTES)  # noqa: SIM115
        info = f"software: {self.software}\r\nformat: WARC File Format 1.1\r\nisPartOf: {self.prefix}\r\n"
        self._write(warc_record("warcinfo", info.encode("utf-8"), {"WARC-Date": warc_date(), "WARC-Filename": self.path.name})[1])

    def _write(self, record: bytes) -> tuple[int, int]:
        """Append one record as its own gzip member; its offset and length in the file."""
        compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS + 16)
        member = compressor.compress(record) + compressor.flush()
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
        common = {"WARC-Date": warc_date(), "WARC-Target-URI": url}
        if ip_address:
            common["WARC-IP-Address"] = ip_address
        _, block = http_block(f"{protocol or 'HTTP/1.1'} {status} {reason}".strip(), received, payload)
        response_id, response = warc_record("response", block, {**common, **(extra or {})}, payload)
        _, block = http_block(f"{method} {target} HTTP/1.1", request_headers, request_body)
        _, request = warc_record("request", block, {**common, "WARC-Concurrent-To": response_id}, request_body)
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
        headers = {"WARC-Date": warc_date(), "WARC-Target-URI": url, "WARC-Concurrent-To": capture.record_id}
        self._write(warc_record("metadata", document, headers)[1])
        self._roll_if_full()
