"""Export bundles and their verification: intact passes, any changed byte fails naming the file,
garbage is unusable (exit 2); the bundle's own verify.py and README proof need no Vigil."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from tests.warc_samples import write_warc
from vigil.app.evidence import export_bundle
from vigil.core.config import Settings
from vigil.core.custody import public_pem, signing_key
from vigil.core.evidence import DirectoryStore
from vigil.core.evidence_verify import check_bundle, main


@pytest.fixture(autouse=True)
def own_home(monkeypatch):
    for name in ("VIGIL_HOME", "VIGIL_EVIDENCE_SIGNING_KEY", "VIGIL_EVIDENCE_STORE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def bundle(tmp_path):
    settings = Settings(home=tmp_path / "home")
    store = DirectoryStore(tmp_path / "home" / "evidence")
    captures = write_warc(store, "warc/2026/12/01/p-1.warc.gz", {"http://a/1": b"<p>ad one</p>", "http://a/2": b"x"})
    store.put_bytes("screenshots/2026/12/01/aa.png", b"\x89PNG\r\n\x1a\nnot really")
    capture = captures[0].model_copy(update={"screenshot": "screenshots/2026/12/01/aa.png"})
    versions = [{"ad_key": "site:1", "version": 1, "captures": [capture.model_dump()]}]
    out = tmp_path / "bundle.zip"
    result = export_bundle(settings, store, "site:1", versions, [capture], out)
    return out, result, settings


def _rewrite(src, dst, change):
    """Copy the zip, passing each member's bytes through change(name, data)."""
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w") as new:
        for info in old.infolist():
            new.writestr(info.filename, change(info.filename, old.read(info.filename)))


def _flip(data: bytes, at: int = 40) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def test_export_holds_the_fetch_its_proofs_and_instructions(bundle):
    out, result, _ = bundle
    names = zipfile.ZipFile(out).namelist()
    assert [r["record_type"] for r in result.records] == ["response", "request", "metadata"]
    assert {"records/001-response.warc.gz", "screenshots/aa.png", "versions.json", "README.txt", "verify.py",
            "SHA256SUMS", "SHA256SUMS.sig", "public-key.pem", "bundle.json"} <= set(names)
    assert len(result.manifests) == 1 and not result.missing and not result.changed
    from warcio.archiveiterator import ArchiveIterator

    data = zipfile.ZipFile(out).read("records/001-response.warc.gz")
    bodies = [r.content_stream().read() for r in ArchiveIterator(io.BytesIO(data))]
    assert bodies == [b"<p>ad one</p>"]


def test_intact_bundle_verifies(bundle, capsys):
    out, _, settings = bundle
    assert check_bundle(out)[0] == []
    key = out.parent / "trusted.pem"
    key.write_bytes(public_pem(signing_key(settings)))
    assert main([str(out), "--pubkey", str(key)]) == 0
    assert "intact" in capsys.readouterr().out


@pytest.mark.parametrize(
    "target",
    ["records/001-response.warc.gz", "records/003-metadata.warc.gz", "screenshots/aa.png", "versions.json",
     "bundle.json", "SHA256SUMS", "README.txt"],
)
def test_one_changed_byte_is_named(bundle, tmp_path, target, capsys):
    out, _, _ = bundle
    bad = tmp_path / "bad.zip"
    _rewrite(out, bad, lambda name, data: _flip(data, min(40, len(data) - 1)) if name == target else data)
    assert main([str(bad)]) == 1
    failures = [line for line in capsys.readouterr().out.splitlines() if line.startswith("FAIL")]
    assert failures and all(target in line for line in failures[:1]), failures


def test_a_byte_changed_inside_the_zip_is_named(bundle, tmp_path, capsys):
    out, _, _ = bundle
    raw = bytearray(out.read_bytes())
    member = zipfile.ZipFile(out).getinfo("records/001-response.warc.gz")
    raw[member.header_offset + 30 + len(member.filename) + 10] ^= 0xFF  # inside the stored data
    bad = tmp_path / "flipped.zip"
    bad.write_bytes(bytes(raw))
    assert main([str(bad)]) == 1
    assert "FAIL records/001-response.warc.gz" in capsys.readouterr().out


def test_a_resigned_manifest_or_foreign_key_fails(bundle, tmp_path, capsys):
    out, _, settings = bundle
    bad = tmp_path / "bad.zip"
    _rewrite(out, bad, lambda name, data: _flip(data, 10) if name.endswith(".json.sig") else data)
    assert main([str(bad)]) == 1
    assert "signature" in capsys.readouterr().out
    other = Settings(home=tmp_path / "other")
    foreign = tmp_path / "foreign.pem"
    foreign.write_bytes(public_pem(signing_key(other)))
    assert main([str(out), "--pubkey", str(foreign)]) == 1


def test_unusable_input_exits_2(tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    assert main([str(junk)]) == 2
    empty = tmp_path / "empty.zip"
    zipfile.ZipFile(empty, "w").close()
    assert main([str(empty)]) == 2
    assert main([str(tmp_path / "absent.zip")]) == 2


def test_unpacked_bundle_verifies_with_its_own_script_and_readme(bundle, tmp_path):
    """verify.py and the README's proof snippet run with the system Python in the unpacked folder."""
    out, _, _ = bundle
    folder = tmp_path / "unpacked"
    zipfile.ZipFile(out).extractall(folder)
    python = shutil.which("python3") or sys.executable
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run([python, "verify.py", "."], cwd=folder, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    readme = (folder / "README.txt").read_text()
    snippet = readme.split("python3 - <<'EOF'\n", 1)[1].split("     EOF", 1)[0]
    script = "\n".join(line[5:] for line in snippet.splitlines())
    done = subprocess.run([python, "-c", script], cwd=folder, env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "proof ok", done.stdout + done.stderr
    sums = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=folder, capture_output=True, text=True)
    assert sums.returncode == 0, sums.stdout
    sig = subprocess.run(
        ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "public-key.pem", "-rawin", "-in", "SHA256SUMS",
         "-sigfile", "SHA256SUMS.sig"], cwd=folder, capture_output=True, text=True,
    )
    assert sig.returncode == 0, sig.stdout + sig.stderr
    (manifest,) = json.loads((folder / "bundle.json").read_text())["manifests"]
    sig = subprocess.run(
        ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", manifest["key"], "-rawin", "-in", manifest["file"],
         "-sigfile", manifest["signature"]], cwd=folder, capture_output=True, text=True,
    )
    assert sig.returncode == 0, sig.stdout + sig.stderr
    fingerprint = subprocess.run(
        "openssl pkey -pubin -in public-key.pem -outform DER | sha256sum", shell=True, cwd=folder,
        capture_output=True, text=True,
    ).stdout[:64]
    assert fingerprint in readme
    (folder / "records/002-request.warc.gz").write_bytes(b"changed")
    done = subprocess.run([python, "verify.py", "."], cwd=folder, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "FAIL records/002-request.warc.gz" in done.stdout


def test_a_store_changed_after_signing_is_flagged_at_export(tmp_path):
    settings = Settings(home=tmp_path / "home")
    store = DirectoryStore(tmp_path / "home" / "evidence")
    (capture,) = write_warc(store, "warc/c.warc.gz", {"http://c/": b"c"})
    versions = [{"ad_key": "k", "captures": [capture.model_dump()]}]
    export_bundle(settings, store, "k", versions, [capture], tmp_path / "first.zip")
    path = store.root / "warc/c.warc.gz"
    path.write_bytes(_flip(path.read_bytes(), capture.offset + 30))
    result = export_bundle(settings, store, "k", versions, [capture], tmp_path / "second.zip")
    assert result.changed and main([str(tmp_path / "second.zip")]) == 1


def test_openssl_fallback_checks_signatures(tmp_path):
    """Without the cryptography package, verify.py asks the openssl command."""
    from vigil.core.evidence_verify import _openssl_verify

    key = signing_key(Settings(home=tmp_path))
    assert _openssl_verify(public_pem(key), b"manifest", key.sign(b"manifest"))
    assert not _openssl_verify(public_pem(key), b"manifesT", key.sign(b"manifest"))
