"""Checking an evidence bundle without Vigil (docs/evidence.md): Merkle trees, signatures, digests.

This file is self-contained on purpose: `vigil evidence export` copies it into every bundle as
``verify.py``, so a court expert can run ``python3 verify.py bundle.zip`` with nothing but Python
(and the ``cryptography`` package, else the ``openssl`` command, for the Ed25519 signatures).

Merkle tree as in RFC 6962 section 2.1: leaf hash = SHA-256(0x00 || leaf), node hash =
SHA-256(0x01 || left || right), the left subtree holding the largest power of two below n leaves.
A leaf is the 32-byte SHA-256 digest of one stored object's bytes (one WARC record's gzip member,
one screenshot PNG), so the expert can recompute it with ``sha256sum``.

Exit codes: 0 intact, 1 a file changed or a signature or proof fails (each named), 2 unusable input.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

SUMS = "SHA256SUMS"
SUMS_SIGNATURE = "SHA256SUMS.sig"
INDEX = "bundle.json"
PUBLIC_KEY = "public-key.pem"
MAX_MEMBER_BYTES = 2_000_000_000
MAX_MEMBERS = 100_000


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf_hash(leaf: bytes) -> bytes:
    return sha256(b"\x00" + leaf)


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def merkle_root(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) of RFC 6962 over the leaf data (not yet hashed)."""
    if not leaves:
        return sha256(b"")
    level = [leaf_hash(leaf) for leaf in leaves]
    return _root_of_hashes(level)


def _root_of_hashes(hashes: list[bytes]) -> bytes:
    if len(hashes) == 1:
        return hashes[0]
    k = _split(len(hashes))
    return node_hash(_root_of_hashes(hashes[:k]), _root_of_hashes(hashes[k:]))


def inclusion_proof(leaves: list[bytes], index: int) -> list[bytes]:
    """PATH(m, D[n]) of RFC 6962: the sibling hashes from leaf ``index`` up to the root."""
    if not 0 <= index < len(leaves):
        raise ValueError(f"leaf {index} is not in a tree of {len(leaves)}")
    return _path(index, [leaf_hash(leaf) for leaf in leaves])


def _path(m: int, hashes: list[bytes]) -> list[bytes]:
    if len(hashes) == 1:
        return []
    k = _split(len(hashes))
    if m < k:
        return _path(m, hashes[:k]) + [_root_of_hashes(hashes[k:])]
    return _path(m - k, hashes[k:]) + [_root_of_hashes(hashes[:k])]


def verify_inclusion(leaf: bytes, index: int, tree_size: int, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 section 2.1.3.2: does ``proof`` lead from ``leaf`` at ``index`` to ``root``?"""
    if not 0 <= index < tree_size:
        return False
    fn, sn, r = index, tree_size - 1, leaf_hash(leaf)
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def key_fingerprint(public_pem: bytes) -> str:
    """SHA-256 of the DER SubjectPublicKeyInfo: ``openssl pkey -pubin -outform DER | sha256sum``."""
    import base64

    body = b"".join(line for line in public_pem.strip().splitlines() if not line.startswith(b"-----"))
    return hashlib.sha256(base64.b64decode(body)).hexdigest()


def verify_signature(public_pem: bytes, data: bytes, signature: bytes) -> bool:
    """Ed25519 over ``data``; with ``cryptography`` when installed, else the ``openssl`` command."""
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
        from cryptography.hazmat.primitives.serialization import load_pem_public_key
    except ImportError:
        return _openssl_verify(public_pem, data, signature)
    try:
        key = load_pem_public_key(public_pem)
    except ValueError:
        return False
    if not isinstance(key, Ed25519PublicKey):
        return False
    try:
        key.verify(signature, data)
        return True
    except InvalidSignature:
        return False


def _openssl_verify(public_pem: bytes, data: bytes, signature: bytes) -> bool:
    with tempfile.TemporaryDirectory() as folder:
        paths = {}
        for name, content in (("key.pem", public_pem), ("data", data), ("sig", signature)):
            paths[name] = os.path.join(folder, name)
            with open(paths[name], "wb") as handle:
                handle.write(content)
        done = subprocess.run(
            ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", paths["key.pem"], "-rawin",
             "-in", paths["data"], "-sigfile", paths["sig"]],
            capture_output=True,
            check=False,
        )
        return done.returncode == 0


class Unusable(Exception):
    """Not a bundle at all: nothing can be said about its contents."""


class Bundle:
    """Read access to a bundle, zipped or unpacked; a damaged member is reported, not raised."""

    def __init__(self, path: Path):
        self.path = path
        self.damaged: dict[str, str] = {}
        if path.is_dir():
            self._zip = None
            self.names = sorted(
                p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()
            )[: MAX_MEMBERS + 1]
        else:
            try:
                self._zip = zipfile.ZipFile(path)
            except (OSError, zipfile.BadZipFile) as exc:
                raise Unusable(f"{path}: not a readable zip file or directory ({exc})") from None
            self.names = [i.filename for i in self._zip.infolist() if not i.is_dir()]
        if len(self.names) > MAX_MEMBERS:
            raise Unusable(f"{path}: more than {MAX_MEMBERS} files")

    def read(self, name: str) -> bytes | None:
        try:
            if self._zip is None:
                target = (self.path / name).resolve()
                if self.path.resolve() not in target.parents or target.stat().st_size > MAX_MEMBER_BYTES:
                    return None
                return target.read_bytes()
            info = self._zip.getinfo(name)
            if info.file_size > MAX_MEMBER_BYTES:
                self.damaged[name] = "too large"
                return None
            return self._zip.read(name)
        except KeyError:
            return None
        except FileNotFoundError:
            return None
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            self.damaged[name] = f"damaged in the zip ({exc})"
            return None


def _hex(value: object) -> bytes:
    if not isinstance(value, str) or len(value) > 128:
        raise ValueError("not a hex digest")
    return bytes.fromhex(value)


def check_bundle(path: Path, trusted_key: bytes | None = None) -> tuple[list[str], list[str]]:
    """(problems, notes): each problem names the file it concerns; no problems means intact."""
    bundle = Bundle(path)
    problems: list[str] = []
    notes: list[str] = []
    sums_bytes = bundle.read(SUMS)
    sums_sig = bundle.read(SUMS_SIGNATURE)
    exporter_key = bundle.read(PUBLIC_KEY)
    if sums_bytes is None or sums_sig is None or exporter_key is None:
        missing = [n for n, b in ((SUMS, sums_bytes), (SUMS_SIGNATURE, sums_sig), (PUBLIC_KEY, exporter_key)) if b is None]
        if any(name in bundle.damaged for name in missing):
            return [f"{name}: {bundle.damaged[name]}" for name in missing if name in bundle.damaged], notes
        raise Unusable(f"{path}: not an evidence bundle (missing {', '.join(missing)})")
    if trusted_key is not None and key_fingerprint(trusted_key) != key_fingerprint(exporter_key):
        problems.append(f"{PUBLIC_KEY}: is not the trusted key given with --pubkey")
    if not verify_signature(exporter_key, sums_bytes, sums_sig):
        problems.append(f"{SUMS}: its signature ({SUMS_SIGNATURE}) does not verify with {PUBLIC_KEY}")
    listed: dict[str, str] = {}
    for line in sums_bytes.decode("utf-8", "replace").splitlines():
        digest, _, name = line.partition("  ")
        if len(digest) != 64 or not name:
            problems.append(f"{SUMS}: malformed line {line[:80]!r}")
            continue
        listed[name] = digest
    for name in bundle.names:
        if name not in listed and name not in (SUMS, SUMS_SIGNATURE):
            problems.append(f"{name}: not listed in {SUMS} (added to the bundle)")
    contents: dict[str, bytes] = {}
    for name, digest in sorted(listed.items()):
        data = bundle.read(name)
        if data is None:
            problems.append(f"{name}: {bundle.damaged.get(name, 'missing from the bundle')}")
            continue
        if hashlib.sha256(data).hexdigest() != digest:
            problems.append(f"{name}: SHA-256 differs from {SUMS} (the file was changed)")
        contents[name] = data
    if INDEX not in contents:
        if INDEX not in listed:
            raise Unusable(f"{path}: not an evidence bundle (no {INDEX})")
        return problems, notes
    try:
        index = json.loads(contents[INDEX])
        problems += _check_custody(index, contents, trusted_key, notes)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        problems.append(f"{INDEX}: unreadable ({type(exc).__name__}: {exc})")
    return problems, notes


def _check_custody(index: dict, contents: dict[str, bytes], trusted_key: bytes | None, notes: list[str]) -> list[str]:
    """Manifests signed and whole; every record and screenshot a leaf of its signed manifest."""
    problems: list[str] = []
    manifests: dict[str, dict] = {}
    for entry in index["manifests"]:
        name = entry["file"]
        data, signature = contents.get(name), contents.get(entry["signature"])
        key = contents.get(entry["key"])
        if data is None or signature is None or key is None:
            problems.append(f"{name}: manifest, its signature or its key is missing or damaged")
            continue
        if trusted_key is not None and key_fingerprint(trusted_key) != key_fingerprint(key):
            notes.append(f"{name}: signed by key {key_fingerprint(key)[:16]}…, not the --pubkey key")
        if not verify_signature(key, data, signature):
            problems.append(f"{name}: the Ed25519 signature ({entry['signature']}) does not verify")
            continue
        manifest = json.loads(data)
        leaves = [_hex(leaf["sha256"]) for leaf in manifest["leaves"]]
        if merkle_root(leaves).hex() != manifest["root"] or len(leaves) != manifest["tree_size"]:
            problems.append(f"{name}: its leaves do not give its Merkle root")
            continue
        manifests[name] = manifest
        notes.append(
            f"{name}: signed by {key_fingerprint(key)[:16]}…, period {manifest['period_start']} to "
            f"{manifest['period_end']}, {len(leaves)} leaves, root {manifest['root'][:16]}…"
        )
    for item in [*index["records"], *index["screenshots"]]:
        name = item["file"]
        data = contents.get(name)
        manifest = manifests.get(item["manifest"])
        if data is None or manifest is None:
            if data is not None:
                problems.append(f"{name}: its manifest {item['manifest']} is not usable")
            continue
        digest = hashlib.sha256(data).digest()
        position = item["leaf_index"]
        leaf = manifest["leaves"][position] if 0 <= position < len(manifest["leaves"]) else {}
        if leaf.get("sha256") != digest.hex():
            problems.append(f"{name}: is not leaf {position} of {item['manifest']} (the file was changed)")
            continue
        proof = [_hex(h) for h in item["proof"]]
        if not verify_inclusion(digest, position, manifest["tree_size"], proof, _hex(manifest["root"])):
            problems.append(f"{name}: its Merkle inclusion proof does not lead to the root of {item['manifest']}")
    return problems


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Verify a Vigil evidence bundle (zip or unpacked directory).")
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--pubkey", type=Path, help="the signing public key obtained independently (PEM)")
    args = parser.parse_args(argv)
    try:
        trusted = args.pubkey.read_bytes() if args.pubkey else None
        problems, notes = check_bundle(args.bundle, trusted)
    except (Unusable, OSError) as exc:
        print(f"UNUSABLE: {exc}", file=sys.stderr)
        return 2
    for note in notes:
        print(f"ok   {note}")
    for problem in problems:
        print(f"FAIL {problem}")
    if problems:
        print(f"{args.bundle}: NOT intact ({len(problems)} problem(s))")
        return 1
    print(f"{args.bundle}: intact")
    return 0


if __name__ == "__main__":
    sys.exit(main())

