"""The crawler's WARC files: records as received, cut out by their Capture, rolled by size, accepted
by warcio's own checker; pages rebuilt from them the way the spider decoded them."""

from __future__ import annotations

import gzip
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from crawlers.evidence import Spool
from crawlers.pages import decode_body
from crawlers.replay import pages, rebuild, response_of
from crawlers.warc import WarcWriter
from vigil.core.evidence import DirectoryStore, EvidenceError
from vigil.core.records import RawPage
from vigil.core.warc import WarcError, iter_records, read_capture

HTML = "<html><head><meta charset='windows-1250'></head><body><h1>Cześć</h1></body></html>".encode("cp1250")


def warcio_check(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / "warcio"), "check", "-v", str(path)], capture_output=True, text=True
    )


def exchange(writer: WarcWriter, url: str, payload: bytes, encoding: str = "gzip"):
    return writer.write_exchange(
        url,
        method="GET",
        request_headers=[("User-Agent", "vigil-test"), ("Accept-Encoding", "gzip")],
        request_body=b"",
        protocol="HTTP/1.1",
        status=200,
        reason="OK",
        response_headers=[
            ("Content-Type", "text/html"),
            ("Content-Encoding", encoding),
            ("Transfer-Encoding", "chunked"),
        ],
        payload=payload,
        ip_address="127.0.0.1",
    )


@pytest.fixture
def written(tmp_path):
    """Three exchanges and their metadata in one spool, stored whole in a directory store."""
    store = DirectoryStore(tmp_path / "store")
    closed: list[str] = []

    def stored(path: Path, name: str) -> None:
        store.put_file(name, path)
        closed.append(name)

    writer = WarcWriter(tmp_path / "spool", "fixture/board", 10**9, stored)
    payload = gzip.compress(HTML)
    captures = [exchange(writer, f"http://127.0.0.1/ad/{n}", payload) for n in range(3)]
    for n, capture in enumerate(captures):
        page = RawPage(
            profile_id="fixture-board", job_id="j", url=f"http://127.0.0.1/ad/{n}",
            canonical_url=f"http://127.0.0.1/ad/{n}", final_url=f"http://127.0.0.1/ad/{n}", status=200,
            page_type="ad", body="", body_sha256="x", capture=capture,
        )  # fmt: skip
        writer.write_metadata(capture, page.url, page.model_dump_json(exclude={"body"}).encode())
    writer.close()
    return store, closed, captures, payload


def test_a_capture_cuts_out_its_own_response_record(written):
    store, closed, captures, payload = written
    assert len(closed) == 1 and closed[0].startswith("warc/") and "/fixture_board-" in closed[0]
    for capture in captures:
        record = read_capture(store, capture)
        assert record.type == "response" and record.record_id == capture.record_id
        assert record.payload == payload, "the body as received, still gzip-encoded"
        assert capture.payload_sha256 == hashlib.sha256(payload).hexdigest()
        assert record.headers["WARC-Payload-Digest"] == f"sha256:{capture.payload_sha256}"
        assert ("Transfer-Encoding", "chunked") not in record.http_headers, "the client already removed it"
        assert record.decoded_payload() == HTML
    tampered = captures[0].model_copy(update={"payload_sha256": "0" * 64})
    with pytest.raises(WarcError, match="digest"):
        read_capture(store, tampered)


def test_every_response_has_a_request_and_a_metadata_record(written, tmp_path):
    store, closed, captures, _ = written
    local = tmp_path / "copy.warc.gz"
    store.download(closed[0], local)
    records = list(iter_records(local.open("rb")))
    assert [r.type for r in records[:4]] == ["warcinfo", "response", "request", "response"]
    ids = {c.record_id for c in captures}
    requests = [r for r in records if r.type == "request"]
    metadata = [r for r in records if r.type == "metadata"]
    assert {r.headers["WARC-Concurrent-To"] for r in requests} == ids
    assert {r.headers["WARC-Concurrent-To"] for r in metadata} == ids
    assert requests[0].status_line == "GET /ad/0 HTTP/1.1"
    result = warcio_check(local)
    assert result.returncode == 0, result.stdout
    assert result.stdout.count("digest pass") == len(records)


def test_files_roll_at_the_size_limit_and_each_passes_warcio_check(tmp_path):
    closed: list[Path] = []
    writer = WarcWriter(tmp_path, "p", 4096, lambda path, name: closed.append(path))
    payload = bytes(range(256)) * 20  # incompressible enough to fill 4 KiB in a few records
    captures = [exchange(writer, f"http://127.0.0.1/{n}", payload, "identity") for n in range(10)]
    writer.close()
    assert len(closed) > 2
    assert len({c.warc_file for c in captures}) == len(closed)
    assert not list(tmp_path.rglob("*.open")), "every file was finished"
    for path in closed:
        assert path.stat().st_size < 4096 + 2 * len(payload)
        assert warcio_check(path).returncode == 0


def test_replay_decodes_the_page_as_the_spider_did(written, tmp_path):
    store, closed, captures, _ = written
    local = tmp_path / Path(closed[0]).name
    store.download(closed[0], local)
    errors: list[str] = []
    rebuilt = list(pages(store, local, 1024, errors.append))
    assert not errors and [p.url for p in rebuilt] == [f"http://127.0.0.1/ad/{n}" for n in range(3)]
    response = response_of(read_capture(store, captures[0]))
    assert rebuilt[0].body == decode_body(response, 1024).text and "Cześć" in rebuilt[0].body
    assert rebuilt[0].capture == captures[0]
    short = rebuild(
        RawPage(**{**rebuilt[0].model_dump(), "body": ""}).model_dump_json(exclude={"body"}).encode(),
        lambda capture: read_capture(store, capture),
        40,
    )
    assert len(short.body.encode()) <= 40, "the crawler's truncation is applied again"
    item = rebuild(rebuilt[0].model_copy(update={"body": "cut from the page"}).model_dump_json().encode(), None, 40)
    assert item.body == "cut from the page", "an item's body comes from its metadata"


class FailingStore(DirectoryStore):
    def put_file(self, name, path):
        raise EvidenceError(f"evidence store {self.uri}: {name}: connection refused")


def test_a_failing_store_keeps_the_file_in_the_spool_for_the_next_crawl(tmp_path):
    spool_root = tmp_path / "spool"
    writer = WarcWriter(spool_root, "p", 10**9, lambda path, name: None)
    exchange(writer, "http://127.0.0.1/", b"<html></html>", "identity")
    writer.close()
    failing = Spool(spool_root, FailingStore(tmp_path / "down"))
    assert failing.store_all() == (0, 1)
    assert "connection refused" in failing.failures[0] and "kept in" in failing.failures[0]
    store = DirectoryStore(tmp_path / "store")
    assert Spool(spool_root, store).store_all() == (1, 0)
    assert [o.name for o in store.list("warc/")] and not Spool(spool_root, store).pending()
