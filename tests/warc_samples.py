"""Small WARC files for the custody tests, written with warcio the way the crawler stores a fetch:
one gzip member per record, a response, its request and a metadata record (WARC-Concurrent-To)."""

from __future__ import annotations

import hashlib
import io
import tempfile
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from vigil.core.evidence import EvidenceStore
from vigil.core.records import Capture


def write_warc(store: EvidenceStore, name: str, pages: dict[str, bytes]) -> list[Capture]:
    """Store one WARC file holding ``pages`` (url -> body); the Capture of each response record."""
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    captures = []
    for url, body in pages.items():
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        response = writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http)
        offset = buffer.tell()
        writer.write_record(response)
        record_id = response.rec_headers.get_header("WARC-Record-ID")
        length = buffer.tell() - offset
        request = writer.create_warc_record(url, "request", payload=io.BytesIO(b"GET / HTTP/1.1\r\n\r\n"))
        request.rec_headers.add_header("WARC-Concurrent-To", record_id)
        writer.write_record(request)
        metadata = writer.create_warc_record(
            url, "metadata", payload=io.BytesIO(b"via: test\r\n"), warc_content_type="application/warc-fields"
        )
        metadata.rec_headers.add_header("WARC-Concurrent-To", record_id)
        writer.write_record(metadata)
        captures.append(
            Capture(
                warc_file=name,
                offset=offset,
                length=length,
                record_id=record_id,
                payload_sha256=hashlib.sha256(body).hexdigest(),
            )
        )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "file.warc.gz"
        path.write_bytes(buffer.getvalue())
        store.put_file(name, path)
    return captures
