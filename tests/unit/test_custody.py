"""Custody: RFC 6962 Merkle trees, the signing key, signed manifests per period, holds, retention."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta

import pytest

from tests.warc_samples import write_warc
from vigil.core.config import Settings
from vigil.core.custody import (
    CustodyError,
    Period,
    covering_manifest,
    expired,
    fingerprint,
    holds,
    manifests_in,
    period_of,
    put_hold,
    release_hold,
    signing_key,
    timestamp_request,
    warc_records,
    write_due_manifests,
    write_manifest,
)
from vigil.core.evidence import DirectoryStore, StoredObject
from vigil.core.evidence_verify import (
    inclusion_proof,
    key_fingerprint,
    merkle_root,
    verify_inclusion,
    verify_signature,
)

# The test vectors of RFC 6962 implementations (certificate-transparency): leaf inputs and the
# root of the first n of them.
LEAVES = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43",
          bytes(range(0x50, 0x58)), bytes(range(0x60, 0x70))]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


@pytest.fixture(autouse=True)
def own_home(monkeypatch):
    """Settings(home=tmp_path) only holds when the environment names no other home or key."""
    for name in ("VIGIL_HOME", "VIGIL_EVIDENCE_SIGNING_KEY", "VIGIL_EVIDENCE_STORE"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("n", range(1, 9))
def test_merkle_root_matches_the_rfc6962_vectors(n):
    assert merkle_root(LEAVES[:n]).hex() == ROOTS[n - 1]


def test_empty_tree_is_the_hash_of_nothing():
    assert merkle_root([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_inclusion_proofs_verify_and_reject_tampering():
    # Known path (RFC 6962 2.1.3 example): leaf 0 of 7 needs leaf 1, node(2,3), node(4,5,6).
    assert len(inclusion_proof(LEAVES[:7], 0)) == 3
    assert len(inclusion_proof(LEAVES[:7], 6)) == 2
    for n in range(1, 9):
        root = merkle_root(LEAVES[:n])
        for i in range(n):
            proof = inclusion_proof(LEAVES[:n], i)
            assert verify_inclusion(LEAVES[i], i, n, proof, root)
            assert not verify_inclusion(LEAVES[i] + b"!", i, n, proof, root)
            if proof:
                bent = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
                assert not verify_inclusion(LEAVES[i], i, n, bent, root)
    with pytest.raises(ValueError):
        inclusion_proof(LEAVES[:3], 3)


def test_signing_key_made_once_owner_only(tmp_path):
    settings = Settings(home=tmp_path)
    key = signing_key(settings)
    path = tmp_path / "evidence-signing.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert fingerprint(signing_key(settings)) == fingerprint(key)
    from vigil.core.custody import public_pem

    assert key_fingerprint(public_pem(key)) == fingerprint(key)
    assert verify_signature(public_pem(key), b"data", key.sign(b"data"))
    assert not verify_signature(public_pem(key), b"dat4", key.sign(b"data"))


def test_signing_key_from_the_environment_wins(tmp_path):
    pem = (tmp_path / "other.pem")
    signing_key(Settings(home=tmp_path, evidence={"signing_key_file": str(pem)}))
    from_env = Settings(home=tmp_path / "x", evidence={"signing_key": pem.read_text()})
    assert fingerprint(signing_key(from_env)) == fingerprint(
        signing_key(Settings(home=tmp_path, evidence={"signing_key_file": str(pem)}))
    )
    assert not (tmp_path / "x" / "evidence-signing.pem").exists()
    with pytest.raises(CustodyError, match="VIGIL_EVIDENCE_SIGNING_KEY"):
        signing_key(Settings(home=tmp_path, evidence={"signing_key": "not a key"}))


def test_periods_are_epoch_aligned():
    when = datetime(2026, 12, 1, 17, 30, tzinfo=UTC)
    assert period_of(when, 24) == Period(datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 2, tzinfo=UTC))
    assert period_of(when, 6).start == datetime(2026, 12, 1, 12, tzinfo=UTC)
    assert period_of(datetime(2026, 12, 2, tzinfo=UTC), 24).start == datetime(2026, 12, 2, tzinfo=UTC)


def _age(store: DirectoryStore, name: str, when: datetime) -> None:
    os.utime(store.root / name, (when.timestamp(), when.timestamp()))


@pytest.fixture
def evidence(tmp_path):
    settings = Settings(home=tmp_path)
    store = DirectoryStore(tmp_path / "evidence")
    return settings, store


def test_manifest_lists_every_record_and_screenshot_signed(evidence):
    settings, store = evidence
    captures = write_warc(store, "warc/2026/11/30/p-1.warc.gz", {"http://a/1": b"one", "http://a/2": b"two"})
    store.put_bytes("screenshots/2026/11/30/ab.png", b"\x89PNG fake")
    day = datetime(2026, 11, 30, 12, tzinfo=UTC)
    _age(store, "warc/2026/11/30/p-1.warc.gz", day)
    _age(store, "screenshots/2026/11/30/ab.png", day)
    manifest = write_manifest(store, settings, period_of(day, 24), now=day + timedelta(days=2))
    doc = manifest.document
    assert doc["complete"] and doc["tree_size"] == 7  # 2 x (response, request, metadata) + the PNG
    assert [o["name"] for o in doc["objects"]] == ["screenshots/2026/11/30/ab.png", "warc/2026/11/30/p-1.warc.gz"]
    response = doc["leaves"][manifest.leaf_of(captures[1].warc_file, captures[1].offset)]
    assert response["record_id"] == captures[1].record_id and response["record_type"] == "response"
    assert response["length"] == captures[1].length
    assert merkle_root([bytes.fromhex(leaf["sha256"]) for leaf in doc["leaves"]]).hex() == doc["root"]
    public = store.read(f"manifests/keys/{doc['key']}.pem")
    assert verify_signature(public, store.read(manifest.name), store.read(manifest.name + ".sig"))
    assert manifest.name.startswith("manifests/2026/11/30/manifest-20261130T000000Z-20261201T000000Z-")


def test_due_manifests_fill_gaps_once_and_chain(evidence):
    settings, store = evidence
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    write_warc(store, "warc/a.warc.gz", {"http://a/": b"a"})
    write_warc(store, "warc/b.warc.gz", {"http://b/": b"b"})
    _age(store, "warc/a.warc.gz", now - timedelta(days=3))
    _age(store, "warc/b.warc.gz", now - timedelta(days=1))
    first = write_due_manifests(store, settings, now)
    # Nov 28, 29, 30 ended; Dec 1 has not.
    assert [m.document["period_start"][:10] for m in first] == ["2026-11-28", "2026-11-29", "2026-11-30"]
    assert [m.document["tree_size"] for m in first] == [3, 0, 3]
    assert first[1].document["previous"]["name"] == first[0].name
    assert write_due_manifests(store, settings, now) == []
    later = write_due_manifests(store, settings, now + timedelta(days=1))
    assert [m.document["period_start"][:10] for m in later] == ["2026-12-01"]


def test_a_record_after_the_last_manifest_gets_an_interim_one(evidence):
    settings, store = evidence
    (capture,) = write_warc(store, "warc/new.warc.gz", {"http://n/": b"n"})
    assert covering_manifest(store, settings, capture.warc_file, capture.offset, write=False) is None
    manifest = covering_manifest(store, settings, capture.warc_file, capture.offset)
    assert manifest is not None and not manifest.document["complete"]
    assert covering_manifest(store, settings, capture.warc_file, capture.offset).name == manifest.name
    assert manifests_in(store) == [manifest.name]


def test_a_broken_warc_file_is_covered_whole(evidence):
    settings, store = evidence
    store.put_bytes("warc/broken.warc.gz", b"\x1f\x8b\x08not really gzip")
    manifest = write_manifest(store, settings, period_of(datetime.now(UTC), 24))
    (entry,) = manifest.document["objects"]
    assert "unparsed" in entry and manifest.document["tree_size"] == 1


def test_warc_records_cover_the_file_exactly(evidence, tmp_path):
    _, store = evidence
    write_warc(store, "warc/x.warc.gz", {"http://x/": b"x" * 5000, "http://y/": b"y"})
    records = warc_records(store.root / "warc/x.warc.gz")
    assert [r["record_type"] for r in records] == ["response", "request", "metadata"] * 2
    assert sum(r["length"] for r in records) == (store.root / "warc/x.warc.gz").stat().st_size
    assert all(a["offset"] + a["length"] == b["offset"] for a, b in zip(records, records[1:], strict=False))


def test_holds_round_trip(evidence):
    _, store = evidence
    put_hold(store, "site:1", "case 42", "es:analyst", ["warc/a.warc.gz", "warc/a.warc.gz"])
    (hold,) = holds(store)
    assert hold["ad_key"] == "site:1" and hold["reason"] == "case 42" and hold["objects"] == ["warc/a.warc.gz"]
    assert release_hold(store, "site:1") and not release_hold(store, "site:1") and holds(store) == []


def test_retention_spares_held_objects_manifests_and_holds():
    now = datetime(2026, 12, 1, tzinfo=UTC)
    old, new = now - timedelta(days=100), now - timedelta(days=1)
    objects = [
        StoredObject("warc/old.warc.gz", 1, old),
        StoredObject("warc/held.warc.gz", 1, old),
        StoredObject("screenshots/old.png", 1, old),
        StoredObject("warc/new.warc.gz", 1, new),
        StoredObject("manifests/2026/08/01/manifest-a-b-c.json", 1, old),
        StoredObject("manifests/keys/k.pem", 1, old),
        StoredObject("holds/x.json", 1, old),
    ]
    doomed = expired(objects, now - timedelta(days=90), {"warc/held.warc.gz"})
    assert [o.name for o in doomed] == ["warc/old.warc.gz", "screenshots/old.png"]


def test_timestamp_request_carries_the_manifest_digest():
    import hashlib

    request = timestamp_request(b'{"manifest": 1}')
    assert request[0] == 0x30 and hashlib.sha512(b'{"manifest": 1}').digest() in request


def test_manifest_json_is_plain(evidence):
    settings, store = evidence
    write_warc(store, "warc/j.warc.gz", {"http://j/": b"j"})
    manifest = write_manifest(store, settings, period_of(datetime.now(UTC), 24))
    assert json.loads(store.read(manifest.name)) == manifest.document
