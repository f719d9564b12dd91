"""Reading the crawler's WARC captures back (replay, export, versions): one record by its
Capture reference, or every record of a file.

The crawler (crawlers/warc.py) writes each record as its own gzip member, so the bytes
``offset .. offset+length`` of a WARC file named in a Capture are a complete, independently
readable WARC file of one record.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from vigil.core.evidence import EvidenceStore
from vigil.core.records import Capture


class WarcError(Exception):
    """A capture could not be read back, or its bytes do not match its recorded digest."""


@dataclass
class WarcRecord:
    """One record: its WARC headers, and for request/response records the HTTP status line and
    headers; ``payload`` is the entity body as stored (still content-encoded, as received)."""

    type: str
    headers: dict[str, str]
    payload: bytes
    offset: int = 0
    length: int = 0
    status_line: str = ""
    http_headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def record_id(self) -> str:
        return self.headers.get("WARC-Record-ID", "")

    @property
    def target_uri(self) -> str:
        return self.headers.get("WARC-Target-URI", "")

    @property
    def payload_sha256(self) -> str:
        return hashlib.sha256(self.payload).hexdigest()

    @property
    def status(self) -> int:
        parts = self.status_line.split(" ", 2)
        return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0

    def decoded_payload(self) -> bytes:
        """The payload with its Content-Encoding (gzip, deflate, br) undone, as a browser would see it."""
        from warcio.bufferedreaders import BufferedReader

        encoding = next((v.strip().lower() for k, v in self.http_headers if k.lower() == "content-encoding"), "")
        if encoding in ("", "identity"):
            return self.payload
        reader = BufferedReader(io.BytesIO(self.payload), decomp_type=encoding)
        try:
            return reader.read()
        except Exception as exc:  # noqa: BLE001 - zlib and brotli raise their own types
            raise WarcError(f"record {self.record_id}: payload does not decode as {encoding}: {exc}") from None


def iter_records(stream: IO[bytes]) -> Iterator[WarcRecord]:
    """Every record of a (gzip or plain) WARC stream, with its offset and length in the stream."""
    from warcio.archiveiterator import ArchiveIterator

    iterator = ArchiveIterator(stream)
    for record in iterator:
        found = _record(record)
        found.payload = record.raw_stream.read()
        iterator.read_to_end(record)
        found.offset = iterator.get_record_offset()
        found.length = iterator.get_record_length() or 0
        yield found


def _record(record) -> WarcRecord:
    http = record.http_headers
    return WarcRecord(
        type=record.rec_type,
        headers=dict(record.rec_headers.headers),
        payload=b"",
        status_line=(f"{http.protocol} {http.statusline}" if http.protocol else http.statusline) if http else "",
        http_headers=list(http.headers) if http else [],
    )


def read_capture(store: EvidenceStore, capture: Capture) -> WarcRecord:
    """The response record a Capture names, checked against its recorded payload digest."""
    data = store.read_range(capture.warc_file, capture.offset, capture.length)
    records = list(iter_records(io.BytesIO(data)))
    if len(records) != 1:
        raise WarcError(
            f"{capture.warc_file} at {capture.offset}+{capture.length} holds {len(records)} records, not one"
        )
    record = records[0]
    if record.record_id != capture.record_id:
        raise WarcError(f"{capture.warc_file} at {capture.offset} is {record.record_id}, not {capture.record_id}")
    if record.payload_sha256 != capture.payload_sha256:
        raise WarcError(f"{capture.warc_file} record {capture.record_id}: payload digest differs from the capture's")
    return record
