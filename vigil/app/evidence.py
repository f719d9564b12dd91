"""Evidence for one ad (docs/evidence.md): its captures, the export bundle, holds and retention.

An ad's captures come from its versions in ``vigil-ad-versions`` (one document per version, each
with its ``captures``), else from the ad document's own ``capture``. The bundle holds each fetch's
WARC records (response, and the request and metadata records written with it) cut out of the
store by offset and length, each one a valid ``.warc.gz`` of its own, the screenshots still kept,
the signed manifests that list them with an inclusion proof per file, the public keys, a README
and ``verify.py``; ``SHA256SUMS`` over every file is signed with the exporter's key.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import structlog

from vigil.core import evidence_verify
from vigil.core.config import Settings
from vigil.core.custody import (
    KEYS,
    CustodyError,
    Manifest,
    covering_manifest,
    expired,
    fingerprint,
    holds,
    public_pem,
    signing_key,
)
from vigil.core.evidence import EvidenceStore, StoredObject
from vigil.core.records import Capture, doc_id

log = structlog.get_logger("vigil.evidence")

MAX_VERSIONS = 1000

PROOF_SNIPPET = """     python3 - <<'EOF'
     import hashlib, json
     H = lambda b: hashlib.sha256(b).digest()
     b = json.load(open("bundle.json")); r = b["records"][0]; m = json.load(open(r["manifest"]))
     h = H(b"\\x00" + H(open(r["file"], "rb").read())); fn, sn = r["leaf_index"], r["tree_size"] - 1
     for p in map(bytes.fromhex, r["proof"]):
         if fn & 1 or fn == sn:
             h = H(b"\\x01" + p + h)
             while not fn & 1 and fn: fn >>= 1; sn >>= 1
         else:
             h = H(b"\\x01" + h + p)
         fn >>= 1; sn >>= 1
     print("proof ok" if sn == 0 and h.hex() == m["root"] else "PROOF FAILS")
     EOF"""


def ad_evidence(es, settings: Settings, ad_key: str) -> tuple[list[dict], list[Capture]]:
    """(versions, captures) of one ad; both empty when Vigil knows nothing of it."""
    indices = settings.es.indices
    versions: list[dict] = []
    if es.indices.exists(index=indices.ad_versions):
        hits = es.search(index=indices.ad_versions, query={"term": {"ad_key": ad_key}}, size=MAX_VERSIONS)
        versions = [hit["_source"] for hit in hits["hits"]["hits"]]
        versions.sort(key=lambda v: (v.get("version") or 0, str(v.get("first_seen") or "")))
    if not versions and es.indices.exists(index=indices.ads):
        found = es.options(ignore_status=404).get(index=indices.ads, id=doc_id(ad_key))
        if found.get("found"):
            ad = found["_source"]
            versions = [
                {
                    "ad_key": ad_key,
                    "version": 1,
                    "source": indices.ads,
                    "content_hash": ad.get("content_hash"),
                    "first_seen": ad.get("first_seen"),
                    "last_seen": ad.get("last_seen"),
                    "title": ad.get("title"),
                    "text": ad.get("text"),
                    "captures": [c for c in [ad.get("capture"), *(ad.get("captures") or [])] if c],
                }
            ]
    captures: dict[tuple[str, int], Capture] = {}
    for version in versions:
        for raw in [version.get("capture"), *(version.get("captures") or [])]:
            if raw:
                capture = Capture.model_validate(raw)
                captures.setdefault((capture.warc_file, capture.offset), capture)
    return versions, list(captures.values())


@dataclass
class Export:
    path: Path
    records: list[dict] = field(default_factory=list)
    screenshots: list[dict] = field(default_factory=list)
    manifests: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)


def _related(manifest: Manifest, index: int) -> list[int]:
    """The response leaf and the records written with it (WARC-Concurrent-To either way)."""
    leaves = manifest.document["leaves"]
    main = leaves[index]
    rid, to = main.get("record_id"), main.get("concurrent_to")
    return [
        i
        for i, leaf in enumerate(leaves)
        if leaf["object"] == main["object"]
        and (i == index or (rid and leaf.get("concurrent_to") == rid) or (to and leaf.get("record_id") == to))
    ]


class _Builder:
    def __init__(self, store: EvidenceStore):
        self.store = store
        self.files: dict[str, bytes] = {}
        self.manifests: dict[str, dict] = {}
        self.proof_leaves: dict[str, list[bytes]] = {}

    def manifest(self, manifest: Manifest) -> str:
        base = "manifests/" + manifest.name.rsplit("/", 1)[-1]
        if base not in self.manifests:
            key = f"keys/{manifest.document['key']}.pem"
            self.files[base] = manifest.data
            self.files[base + ".sig"] = self.store.read(manifest.name + ".sig")
            if self.store.exists(manifest.name + ".tsr"):
                self.files[base + ".tsr"] = self.store.read(manifest.name + ".tsr")
            self.files[key] = self.store.read(f"{KEYS}{manifest.document['key']}.pem")
            self.manifests[base] = {"file": base, "signature": base + ".sig", "key": key}
            self.proof_leaves[base] = [bytes.fromhex(leaf["sha256"]) for leaf in manifest.document["leaves"]]
        return base

    def proof(self, base: str, index: int) -> list[str]:
        return [h.hex() for h in evidence_verify.inclusion_proof(self.proof_leaves[base], index)]


def export_bundle(
    settings: Settings, store: EvidenceStore, ad_key: str, versions: list[dict], captures: list[Capture], out: Path
) -> Export:
    """Write the bundle for ``ad_key`` to ``out`` (a zip); a capture not yet in a manifest gets one."""
    if not versions:
        raise CustodyError(f"no ad {ad_key!r} in {settings.es.indices.ad_versions} or {settings.es.indices.ads}")
    key = signing_key(settings)
    build = _Builder(store)
    result = Export(out)
    for capture in captures:
        if not store.exists(capture.warc_file):
            result.missing.append(f"{capture.warc_file} (record {capture.record_id})")
            continue
        manifest = covering_manifest(store, settings, capture.warc_file, capture.offset)
        index = manifest.leaf_of(capture.warc_file, capture.offset) if manifest else None
        if manifest is None or index is None:
            result.missing.append(f"{capture.warc_file}@{capture.offset}: not a WARC record there")
            continue
        base = build.manifest(manifest)
        for i in _related(manifest, index):
            leaf = manifest.document["leaves"][i]
            data = store.read_range(leaf["object"], leaf["offset"], leaf["length"])
            name = f"records/{len(result.records) + 1:03d}-{leaf.get('record_type', 'record')}.warc.gz"
            if hashlib.sha256(data).hexdigest() != leaf["sha256"]:
                result.changed.append(f"{name} ({leaf['object']}@{leaf['offset']})")
            build.files[name] = data
            result.records.append(
                {
                    "file": name,
                    **{k: v for k, v in leaf.items() if k != "sha256"},
                    "manifest_sha256": leaf["sha256"],
                    "manifest": base,
                    "leaf_index": i,
                    "tree_size": manifest.document["tree_size"],
                    "proof": build.proof(base, i),
                }
            )
        if capture.screenshot:
            _screenshot(store, settings, build, result, capture)
    if not result.records:
        raise CustodyError(f"ad {ad_key!r}: none of its captures is in {store.uri} ({'; '.join(result.missing)})")
    result.manifests = sorted(build.manifests)
    index = {
        "format": "vigil-evidence-bundle/1",
        "ad_key": ad_key,
        "created_at": datetime.now(UTC).isoformat(),
        "store": store.uri,
        "exporter_key": fingerprint(key),
        "records": result.records,
        "screenshots": result.screenshots,
        "manifests": [build.manifests[name] for name in result.manifests],
        "versions": "versions.json",
        "not_exported": result.missing,
    }
    build.files["versions.json"] = json.dumps(versions, indent=1, ensure_ascii=False, default=str).encode()
    build.files["bundle.json"] = json.dumps(index, indent=1, ensure_ascii=False).encode()
    build.files["public-key.pem"] = public_pem(key)
    build.files["verify.py"] = Path(evidence_verify.__file__).read_bytes()
    build.files["README.txt"] = readme(index, fingerprint(key)).encode()
    sums = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(build.files.items()))
    build.files[evidence_verify.SUMS] = sums.encode()
    build.files[evidence_verify.SUMS_SIGNATURE] = key.sign(sums.encode())
    partial = out.with_name(out.name + ".part")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as bundle:
        for name, data in sorted(build.files.items()):
            bundle.writestr(name, data)
    partial.replace(out)
    return result


def _screenshot(store: EvidenceStore, settings: Settings, build: _Builder, result: Export, capture: Capture) -> None:
    if not store.exists(capture.screenshot):
        result.missing.append(f"{capture.screenshot} (screenshot, deleted)")
        return
    manifest = covering_manifest(store, settings, capture.screenshot)
    index = manifest.leaf_of(capture.screenshot) if manifest else None
    if manifest is None or index is None:
        result.missing.append(f"{capture.screenshot} (screenshot, in no manifest)")
        return
    base = build.manifest(manifest)
    name = "screenshots/" + capture.screenshot.rsplit("/", 1)[-1]
    if name in build.files:
        return
    build.files[name] = store.read(capture.screenshot)
    result.screenshots.append(
        {
            "file": name,
            "object": capture.screenshot,
            "manifest": base,
            "leaf_index": index,
            "tree_size": manifest.document["tree_size"],
            "proof": build.proof(base, index),
        }
    )


def readme(index: dict, key_id: str) -> str:
    """The recipient's instructions, naming this bundle's own files."""
    first = index["records"][0]
    manifest = first["manifest"]
    manifest_key = next(m["key"] for m in index["manifests"] if m["file"] == manifest)
    lines = [
        f"Evidence bundle for ad {index['ad_key']}, exported {index['created_at']} from {index['store']}.",
        "",
        "What is here",
        "  records/*.warc.gz   each one WARC record (ISO 28500) exactly as stored: the HTTP response as",
        "                      received, and the request and metadata records written with it",
        "  screenshots/*.png   full-page screenshots, when the site was rendered in a browser",
        "  versions.json       the ad's versions as Vigil recorded them (first/last seen, content hash)",
        "  manifests/*.json    the signed manifests that listed these records in the period they were",
        "                      stored (.sig: Ed25519 signature; .tsr: RFC 3161 time-stamp, if any)",
        "  keys/*.pem          the public keys that signed the manifests",
        "  bundle.json         which manifest leaf each file is, with its Merkle inclusion proof",
        "  SHA256SUMS(.sig)    SHA-256 of every file, signed by public-key.pem (the exporting system)",
        "  verify.py           checks all of the below: python3 verify.py THIS.zip [--pubkey TRUSTED.pem]",
        "",
        "Verify by hand (unzip first; OpenSSL 3 and sha256sum)",
        "1. Is the key the agency's? Compare this with the fingerprint it publishes:",
        "     openssl pkey -pubin -in public-key.pem -outform DER | sha256sum",
        f"   expected for this bundle's exporter: {key_id}",
        "2. Signature over the list of digests, then the digests:",
        "     openssl pkeyutl -verify -pubin -inkey public-key.pem -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig",
        "     sha256sum -c SHA256SUMS",
        "3. Signature of a manifest (signed at the end of its period; \"complete\": false means at export):",
        f"     openssl pkeyutl -verify -pubin -inkey {manifest_key} -rawin -in {manifest} -sigfile {manifest}.sig",
        "4. A record is listed in the signed manifest: its SHA-256 appears there as a leaf",
        f"     sha256sum {first['file']}",
        f"     grep -c \"$(sha256sum {first['file']} | cut -c1-64)\" {manifest}",
        "5. The Merkle proof leads from the record to the manifest's signed root (RFC 6962 hashing):",
        *PROOF_SNIPPET.splitlines(),
        "6. Read a record: zcat records/001-response.warc.gz | less     (or: warcio check / warcio extract)",
        "7. A time-stamp, if present: openssl ts -reply -in MANIFEST.json.tsr -text",
        "     openssl ts -verify -data MANIFEST.json -in MANIFEST.json.tsr -CAfile TSA-CA.pem",
        "",
        "What the signatures prove, and what they do not",
        "  They prove that these bytes are the bytes Vigil stored, unchanged since the manifest was signed",
        "  (at the end of the period in which they were stored, or at export for a recent record), by the",
        "  holder of the signing key. They do not prove that the website showed the same to every visitor,",
        "  who wrote the ad, or the time of capture beyond the manifest's period (an RFC 3161 time-stamp,",
        "  when present, proves the manifest existed at the authority's time). See docs/evidence.md.",
    ]
    if index["not_exported"]:
        lines += ["", "Captures not exported (deleted by retention or never stored):"]
        lines += [f"  {m}" for m in index["not_exported"]]
    return "\n".join(lines) + "\n"


def held_objects(store: EvidenceStore, es, settings: Settings) -> set[str]:
    """Objects no retention may delete: those recorded with each hold and those its ad references now."""
    kept: set[str] = set()
    for hold in holds(store):
        kept.update(hold.get("objects", []))
        _, captures = ad_evidence(es, settings, hold["ad_key"])
        for capture in captures:
            kept.add(capture.warc_file)
            if capture.screenshot:
                kept.add(capture.screenshot)
    return kept


def purge_evidence(
    settings: Settings, store: EvidenceStore, es, before: datetime, dry_run: bool = False, audit=None
) -> list[StoredObject]:
    """Delete evidence stored before ``before`` unless held (a WARC file with any held record stays whole);
    ``audit(doomed)`` runs first and may refuse by raising."""
    doomed = expired(store.list(), before, held_objects(store, es, settings))
    if not dry_run and doomed:
        if audit is not None:
            audit(doomed)
        for stored in doomed:
            store.delete(stored.name)
            log.info("evidence deleted by retention", object=stored.name, stored=stored.modified.isoformat())
    return doomed
