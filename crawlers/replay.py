"""Raw pages rebuilt from the evidence store's WARC files (``vigil replay``, docs/operations.md).

Every published record has a ``metadata`` record (crawlers/evidence.py): the RawPage as JSON,
with its Capture. A page's body is decoded again from the response record its Capture names, by
the crawler's own ``decode_body`` (same charset rules, same truncation); an item's body is in its
metadata record, as the profile cut it out of its page.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scrapy.http import Headers, TextResponse
from scrapy.responsetypes import responsetypes

from crawlers.pages import decode_body
from vigil.core.evidence import EvidenceStore
from vigil.core.records import Capture, RawPage
from vigil.core.warc import WarcError, WarcRecord, iter_records, read_capture

WARC_DAY = re.compile(r"^warc/(\d{4})/(\d{2})/(\d{2})/[^/]+\.warc\.gz$")


class ReplayError(Exception):
    """A metadata record whose page cannot be rebuilt (names the file and the reason)."""


def warc_files(store: EvidenceStore, since: datetime, until: datetime | None) -> list[str]:
    """The store's WARC files begun on the days from the day before ``since`` (a file begun before
    midnight holds pages fetched after it) to ``until`` (by their names)."""
    first = since.astimezone(UTC).date() - timedelta(days=1)
    last = until.astimezone(UTC).date() if until else None
    names = []
    for stored in store.list("warc/"):
        match = WARC_DAY.match(stored.name)
        if not match:
            continue
        day = datetime(int(match[1]), int(match[2]), int(match[3]), tzinfo=UTC).date()
        if day >= first and (last is None or day <= last):
            names.append(stored.name)
    return sorted(names)


def response_of(record: WarcRecord) -> TextResponse | None:
    """The Scrapy response the spider saw: headers as received, body with its Content-Encoding
    undone (as Scrapy's decompression middleware does); None when it is not text."""
    headers = Headers([(k, v) for k, v in record.http_headers if k.lower() != "content-encoding"])
    body = record.decoded_payload()
    cls = responsetypes.from_args(headers=headers, url=record.target_uri, body=body)
    if not issubclass(cls, TextResponse):
        return None
    return cls(url=record.target_uri, status=record.status, headers=headers, body=body)


def rebuild(document: bytes, read: Callable[[Capture], WarcRecord], max_body_bytes: int) -> RawPage:
    """The RawPage a metadata record describes."""
    data = json.loads(document)
    has_body = "body" in data
    data.setdefault("body", "")
    page = RawPage.model_validate(data)
    if has_body or page.capture is None:
        return page
    response = response_of(read(page.capture))
    if response is None:
        raise ReplayError(f"{page.url}: the captured response is not text")
    page.body = decode_body(response, max_body_bytes).text
    return page


def pages(
    store: EvidenceStore, path: Path, max_body_bytes: int, on_error: Callable[[str], None]
) -> Iterator[RawPage]:
    """The pages of one local WARC file (named as in the store), in the order they were published;
    a page that cannot be rebuilt is reported to ``on_error`` and skipped.

    Response records are read by their Capture: from the local file when they are in it, from the
    store when an earlier file holds them (a page published after its file rolled)."""
    name = path.name
    with open(path, "rb") as local:

        def read(capture: Capture) -> WarcRecord:
            if Path(capture.warc_file).name != name:
                return read_capture(store, capture)
            local.seek(capture.offset)
            found = list(iter_records(io.BytesIO(local.read(capture.length))))
            if len(found) != 1 or found[0].record_id != capture.record_id:
                raise WarcError(f"{name} at {capture.offset}: not the record {capture.record_id}")
            if found[0].payload_sha256 != capture.payload_sha256:
                raise WarcError(f"{name} record {capture.record_id}: payload digest differs from the capture's")
            return found[0]

        with open(path, "rb") as stream:
            for record in iter_records(stream):
                if record.type != "metadata" or record.headers.get("Content-Type") != "application/json":
                    continue
                try:
                    yield rebuild(record.payload, read, max_body_bytes)
                except (ReplayError, WarcError, ValueError) as exc:
                    on_error(f"{name} record {record.record_id}: {exc}")
