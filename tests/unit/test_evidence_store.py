"""The directory evidence store: write-once objects by checked name, owner-only files."""

from __future__ import annotations

import stat

import pytest

from vigil.core.config import Settings
from vigil.core.evidence import DirectoryStore, EvidenceError, S3Store, open_store


def test_directory_store_round_trip(tmp_path):
    store = DirectoryStore(tmp_path / "evidence")
    store.put_bytes("warc/2026/12/01/a.warc.gz", b"0123456789")
    assert store.exists("warc/2026/12/01/a.warc.gz")
    assert store.read_range("warc/2026/12/01/a.warc.gz", 2, 3) == b"234"
    assert store.read("warc/2026/12/01/a.warc.gz") == b"0123456789"
    assert [o.name for o in store.list("warc/")] == ["warc/2026/12/01/a.warc.gz"]
    mode = (tmp_path / "evidence/warc/2026/12/01/a.warc.gz").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
    assert stat.S_IMODE((tmp_path / "evidence/warc").stat().st_mode) == 0o700
    store.delete("warc/2026/12/01/a.warc.gz")
    assert not store.exists("warc/2026/12/01/a.warc.gz")


@pytest.mark.parametrize("name", ["../x", "/etc/passwd", "a/../../b", "a//b", "", ".hidden", "a/\x00"])
def test_names_cannot_leave_the_store(tmp_path, name):
    with pytest.raises(EvidenceError):
        DirectoryStore(tmp_path).put_bytes(name, b"x")


def test_open_store_from_settings(tmp_path):
    settings = Settings(home=tmp_path)
    assert isinstance(open_store(settings), DirectoryStore)
    s3 = open_store(Settings(home=tmp_path, evidence={"store": "s3://bucket/vigil", "s3_endpoint_url": "http://127.0.0.1:1"}))
    assert isinstance(s3, S3Store) and s3.uri == "s3://bucket/vigil/"
    with pytest.raises(EvidenceError, match="names no bucket"):
        open_store(Settings(home=tmp_path, evidence={"store": "s3://"}))
