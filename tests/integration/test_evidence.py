"""Evidence custody end to end on the real stack (docs/evidence.md): export an ad's evidence from
the store with its versions from Elasticsearch, verify it, change one byte, verify fails naming
the file; warcio's checker accepts every WARC file; holds and retention; the audit trail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from tests.conftest import vigil_executable
from tests.helpers import wait_for
from tests.warc_samples import write_warc

pytestmark = pytest.mark.integration


def configure(vigil_env, store: str | None, tmp_path: Path) -> None:
    """The test's own evidence store (unless ``s3_store`` set one) and signing key, never the shared
    state directory's."""
    config = yaml.safe_load(vigil_env.config_path.read_text())
    config["evidence"] = {**config.get("evidence", {}), "signing_key_file": str(tmp_path / "signing.pem")}
    if store:
        config["evidence"]["store"] = store
    config["files_retention"] = {"log_dirs": [str(tmp_path / "logs")], "report_dirs": []}
    vigil_env.config_path.write_text(yaml.safe_dump(config))


def settings_of(vigil_env):
    from vigil.core.config import load_settings

    return load_settings(vigil_env.config_path)


def warcio_check(path: Path) -> subprocess.CompletedProcess:
    warcio = Path(sys.executable).parent / "warcio"
    return subprocess.run([str(warcio), "check", "-v", str(path)], capture_output=True, text=True, timeout=60)


def index_ad(es, settings, ad_key: str, capture) -> None:
    es.index(
        index=settings.es.indices.ads,
        id=ad_key,
        document={"ad_key": ad_key, "profile_id": "board", "url": "http://127.0.0.1/ad/1",
                  "canonical_url": "http://127.0.0.1/ad/1", "title": "ad one", "content_hash": "h1",
                  "first_seen": datetime.now(UTC).isoformat(), "capture": capture.model_dump()},
        refresh=True,
    )


def audit_actions(es, settings) -> list[dict]:
    es.indices.refresh(index=settings.es.indices.audit)
    hits = es.search(index=settings.es.indices.audit, size=100, query={"prefix": {"action": "evidence."}})
    return [h["_source"] for h in hits["hits"]["hits"]]


def test_crawl_to_verified_bundle_on_s3(vigil_env, s3_store, tmp_path):
    """The issue's end to end: crawl the fixture board with the evidence store on the local S3
    server, enrich, export one ad, verify, change one byte, verify fails naming the file."""
    from tests.fixture_site import FixtureSite
    from tests.integration.test_crawl import board_profile, run_json, write_profile
    from vigil.core.elastic import client

    configure(vigil_env, None, tmp_path)
    settings = settings_of(vigil_env)
    with FixtureSite() as site:
        profile = write_profile(tmp_path, board_profile(site, limits={"max_pages": 30, "max_depth": 3}))
        result, summary = run_json(vigil_env, profile, "--job-id", "job-evidence")
    assert result.returncode == 0, result.stderr[-3000:]
    warcs = [o.name for o in s3_store.list("warc/")]
    assert warcs, f"no WARC file in {s3_store.uri}: {result.stderr[-2000:]}"
    for name in warcs:
        s3_store.download(name, tmp_path / "check.warc.gz")
        checked = warcio_check(tmp_path / "check.warc.gz")
        assert checked.returncode == 0, (name, checked.stdout, checked.stderr)

    es = client(settings.es)
    versions = settings.es.indices.ad_versions
    log = open(tmp_path / "enrich.log", "wb")  # noqa: SIM115 - closed below
    worker = subprocess.Popen(
        [vigil_executable(), "worker", "enrich", "--group", f"evidence-{vigil_env.uid}"],
        env=vigil_env.env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip

    def captured_version():
        if not es.indices.exists(index=versions):
            return None
        es.indices.refresh(index=versions)
        hits = es.search(index=versions, size=1, query={"exists": {"field": "captures.warc_file"}})["hits"]["hits"]
        return hits[0]["_source"] if hits else None

    try:
        assert wait_for(lambda: captured_version() is not None, timeout=150), (
            (tmp_path / "enrich.log").read_text()[-4000:]
        )
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        log.close()
    ad_key = captured_version()["ad_key"]

    bundle = tmp_path / "bundle.zip"
    done = vigil_env.run("evidence", "export", ad_key, "--out", bundle)
    assert done.returncode == 0, done.stdout + done.stderr
    done = vigil_env.run("evidence", "verify", bundle)
    assert done.returncode == 0 and "intact" in done.stdout, done.stdout + done.stderr
    assert any(o.name.startswith("manifests/") for o in s3_store.list("manifests/"))
    names = zipfile.ZipFile(bundle).namelist()
    for kind in ("response", "request", "metadata"):
        assert any(n.startswith("records/") and n.endswith(f"-{kind}.warc.gz") for n in names), names
    assert json.loads(zipfile.ZipFile(bundle).read("versions.json"))[0]["ad_key"] == ad_key
    with zipfile.ZipFile(bundle) as original, zipfile.ZipFile(tmp_path / "changed.zip", "w") as changed:
        for info in original.infolist():
            data = original.read(info.filename)
            if info.filename == "records/001-response.warc.gz":
                data = data[:60] + bytes([data[60] ^ 0x01]) + data[61:]
            changed.writestr(info.filename, data)
    done = vigil_env.run("evidence", "verify", tmp_path / "changed.zip")
    assert done.returncode == 1 and "FAIL records/001-response.warc.gz" in done.stdout, done.stdout
    es.close()


def test_export_verify_and_one_changed_byte(vigil_env, tmp_path):
    from vigil.core.elastic import client
    from vigil.core.evidence import open_store

    configure(vigil_env, str(tmp_path / "evidence"), tmp_path)
    settings = settings_of(vigil_env)
    store = open_store(settings)
    captures = write_warc(store, "warc/2026/12/01/board-1.warc.gz",
                          {"http://127.0.0.1/ad/1": b"<h1>ad one</h1>", "http://127.0.0.1/ad/2": b"two"})
    es = client(settings.es)
    index_ad(es, settings, "board:1", captures[0])

    done = vigil_env.run("evidence", "export", "board:1", "--out", tmp_path / "bundle.zip")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 WARC records" in done.stdout
    done = vigil_env.run("evidence", "verify", tmp_path / "bundle.zip")
    assert done.returncode == 0 and "intact" in done.stdout, done.stdout + done.stderr

    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(tmp_path / "bundle.zip").extractall(unpacked)
    for warc in [store.root / "warc/2026/12/01/board-1.warc.gz", *sorted((unpacked / "records").iterdir())]:
        checked = warcio_check(warc)
        assert checked.returncode == 0, (warc, checked.stdout, checked.stderr)
    response = unpacked / "records/001-response.warc.gz"
    data = bytearray(response.read_bytes())
    data[len(data) // 2] ^= 0x01
    response.write_bytes(bytes(data))
    done = vigil_env.run("evidence", "verify", unpacked)
    assert done.returncode == 1
    assert "FAIL records/001-response.warc.gz" in done.stdout, done.stdout

    pubkey = vigil_env.run("evidence", "pubkey", "--out", tmp_path / "pub.pem")
    assert pubkey.returncode == 0 and "BEGIN PUBLIC KEY" in pubkey.stdout
    done = vigil_env.run("evidence", "verify", tmp_path / "bundle.zip", "--pubkey", tmp_path / "pub.pem")
    assert done.returncode == 0, done.stdout
    (tmp_path / "junk.zip").write_bytes(b"PK junk")
    assert vigil_env.run("evidence", "verify", tmp_path / "junk.zip").returncode == 2
    assert [a["parameters"]["ad_key"] for a in audit_actions(es, settings)] == ["board:1"]
    es.close()


def test_hold_keeps_evidence_that_retention_deletes_otherwise(vigil_env, tmp_path):
    from vigil.core.custody import manifests_in
    from vigil.core.elastic import client
    from vigil.core.evidence import open_store

    configure(vigil_env, str(tmp_path / "evidence"), tmp_path)
    settings = settings_of(vigil_env)
    store = open_store(settings)
    (held,) = write_warc(store, "warc/held.warc.gz", {"http://127.0.0.1/ad/h": b"held"})
    write_warc(store, "warc/free.warc.gz", {"http://127.0.0.1/ad/f": b"free"})
    store.put_bytes("screenshots/free.png", b"\x89PNG")
    write_warc(store, "warc/fresh.warc.gz", {"http://127.0.0.1/ad/n": b"new"})
    old = (datetime.now(UTC) - timedelta(days=200)).timestamp()
    for name in ("warc/held.warc.gz", "warc/free.warc.gz", "screenshots/free.png"):
        os.utime(store.root / name, (old, old))
    es = client(settings.es)
    index_ad(es, settings, "board:h", held)

    done = vigil_env.run("evidence", "manifest")
    assert done.returncode == 0 and "leaves" in done.stdout, done.stdout + done.stderr
    written = manifests_in(store)
    assert written
    done = vigil_env.run("evidence", "hold", "board:h", "--reason", "case 7")
    assert done.returncode == 0, done.stdout + done.stderr
    listed = vigil_env.run("evidence", "hold", "--list")
    assert "board:h" in listed.stdout and "case 7" in listed.stdout

    dry = vigil_env.run("retention", "apply", "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "2 objects would delete" in dry.stdout and store.exists("warc/free.warc.gz")
    done = vigil_env.run("retention", "apply")
    assert done.returncode == 0, done.stdout + done.stderr
    names = {o.name for o in store.list()}
    assert "warc/free.warc.gz" not in names and "screenshots/free.png" not in names
    assert {"warc/held.warc.gz", "warc/fresh.warc.gz", *written} <= names

    assert vigil_env.run("evidence", "release", "board:h").returncode == 0
    assert vigil_env.run("evidence", "release", "board:h").returncode == 1
    done = vigil_env.run("retention", "apply")
    assert done.returncode == 0 and not store.exists("warc/held.warc.gz")
    assert set(written) <= {o.name for o in store.list()}
    actions = [(a["action"], a["parameters"].get("reason")) for a in audit_actions(es, settings)]
    assert ("evidence.hold", "case 7") in actions and ("evidence.release", None) in actions
    assert sum(1 for a, _ in actions if a == "evidence.retention") == 2
    es.close()
