"""Custody of the evidence store (docs/evidence.md): signed Merkle manifests, legal holds, retention.

A manifest covers one period (``evidence.manifest_interval_hours``, aligned to the Unix epoch, so
daily periods run midnight to midnight UTC). It lists every object whose store time falls in the
period, with one Merkle leaf per WARC record (the SHA-256 of the record's stored bytes, its gzip
member) and per screenshot or other object (the SHA-256 of the file), their RFC 6962 root, and
the name and digest of the manifest written before it (a chain: a removed manifest shows). It is
signed with Ed25519; the signature is stored beside it (``.sig``, 64 raw bytes), and so is an
RFC 3161 time-stamp (``.tsr``) when ``evidence.tsa_url`` is set. Manifests are never deleted.

Used by `vigil evidence manifest`, by the scheduler's leader (periodic job) and by the export,
which writes an interim manifest for a record captured after the last one.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import structlog

from vigil.core.config import Settings
from vigil.core.evidence import EvidenceError, EvidenceStore, StoredObject
from vigil.core.evidence_verify import merkle_root

log = structlog.get_logger("vigil.custody")

FORMAT = "vigil-evidence-manifest/1"
MANIFESTS = "manifests/"
KEYS = "manifests/keys/"
HOLDS = "holds/"
NOT_EVIDENCE = (MANIFESTS, HOLDS)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
STAMP = "%Y%m%dT%H%M%SZ"
MAX_PERIODS_PER_RUN = 400
GRACE = timedelta(minutes=5)
TREE = "RFC 6962: leaf = SHA-256(0x00 || sha256 of the stored bytes), node = SHA-256(0x01 || left || right)"


class CustodyError(Exception):
    """A manifest, key or hold could not be written or read; the message names which and why."""


# --- signing key ----------------------------------------------------------------------------


def default_key_file(settings: Settings) -> Path:
    return settings.evidence.signing_key_file or settings.state_dir / "evidence-signing.pem"


def signing_key(settings: Settings):
    """The Ed25519 key: VIGIL_EVIDENCE_SIGNING_KEY (PEM), else the key file, made 0600 on first use."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        load_pem_private_key,
    )

    if settings.evidence.signing_key is not None:
        pem, origin = settings.evidence.signing_key.get_secret_value().encode(), "VIGIL_EVIDENCE_SIGNING_KEY"
    else:
        path = default_key_file(settings)
        origin = str(path)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            new = Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(new)
                log.info("evidence signing key created", path=origin)
            except FileExistsError:
                pass
        pem = path.read_bytes()
    try:
        key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise CustodyError(f"evidence signing key from {origin} is not an unencrypted PEM key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CustodyError(f"evidence signing key from {origin} is not an Ed25519 key")
    return key


def public_pem(key) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def fingerprint(key) -> str:
    """SHA-256 of the public key's DER form, as `openssl pkey -pubin -outform DER | sha256sum` prints."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return hashlib.sha256(key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).hexdigest()


# --- periods and names ----------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime

    def contains(self, when: datetime) -> bool:
        return self.start <= when < self.end


def period_of(when: datetime, hours: float) -> Period:
    """The epoch-aligned period of ``hours`` that holds ``when``."""
    step = timedelta(hours=hours)
    start = EPOCH + step * ((when.astimezone(UTC) - EPOCH) // step)
    return Period(start, start + step)


def manifest_name(period: Period, created: datetime) -> str:
    return (
        f"{MANIFESTS}{period.start:%Y/%m/%d}/manifest-{period.start:{STAMP}}-{period.end:{STAMP}}"
        f"-{created.astimezone(UTC):{STAMP}}.json"
    )


def _parse_name(name: str) -> tuple[datetime, datetime, datetime] | None:
    base = name.rsplit("/", 1)[-1]
    if not (base.startswith("manifest-") and base.endswith(".json")):
        return None
    parts = base[len("manifest-") : -len(".json")].split("-")
    if len(parts) != 3:
        return None
    try:
        start, end, created = (datetime.strptime(p, STAMP).replace(tzinfo=UTC) for p in parts)
    except ValueError:
        return None
    return start, end, created


def manifests_in(store: EvidenceStore, prefix: str = MANIFESTS) -> list[str]:
    """Manifest names, oldest written first."""
    found = [(parsed[2], o.name) for o in store.list(prefix) if (parsed := _parse_name(o.name))]
    return [name for _, name in sorted(found)]


# --- leaves ---------------------------------------------------------------------------------


def kind_of(name: str) -> str:
    if name.endswith((".warc.gz", ".warc")):
        return "warc"
    if name.startswith("screenshots/") and name.endswith(".png"):
        return "screenshot"
    return "object"


def _file_sha256(path: Path, offset: int = 0, length: int | None = None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        handle.seek(offset)
        left = length
        while left is None or left > 0:
            chunk = handle.read(1 << 20 if left is None else min(1 << 20, left))
            if not chunk:
                break
            digest.update(chunk)
            if left is not None:
                left -= len(chunk)
    return digest.hexdigest()


def warc_records(path: Path) -> list[dict]:
    """One entry per WARC record: where its stored bytes lie and what its headers say."""
    from vigil.core.warc import iter_records

    wanted = {
        "record_id": "WARC-Record-ID",
        "target_uri": "WARC-Target-URI",
        "date": "WARC-Date",
        "payload_digest": "WARC-Payload-Digest",
        "concurrent_to": "WARC-Concurrent-To",
    }
    entries = []
    with path.open("rb") as handle:
        for record in iter_records(handle):
            entry = {key: record.headers[header] for key, header in wanted.items() if header in record.headers}
            entries.append({**entry, "record_type": record.type, "offset": record.offset, "length": record.length})
    for entry in entries:
        entry["sha256"] = _file_sha256(path, entry["offset"], entry["length"])
    return entries


def object_leaves(store: EvidenceStore, stored: StoredObject, workdir: Path) -> tuple[dict, list[dict]]:
    """The manifest's entry for one object and its leaves (a WARC file that does not parse is one leaf)."""
    local = workdir / "object"
    store.download(stored.name, local)
    try:
        entry = {
            "name": stored.name,
            "kind": kind_of(stored.name),
            "size": local.stat().st_size,
            "sha256": _file_sha256(local),
            "modified": stored.modified.astimezone(UTC).isoformat(),
        }
        leaves: list[dict] = []
        if entry["kind"] == "warc":
            try:
                leaves = [{"object": stored.name, **record} for record in warc_records(local)]
            except Exception as exc:  # noqa: BLE001 - hostile or broken file: covered whole, noted
                entry["unparsed"] = f"{type(exc).__name__}: {str(exc)[:200]}"
                leaves = []
        if not leaves:
            leaves = [{"object": stored.name, "sha256": entry["sha256"]}]
        return entry, leaves
    finally:
        local.unlink(missing_ok=True)


# --- manifests ------------------------------------------------------------------------------


@dataclass
class Manifest:
    name: str
    document: dict
    data: bytes

    def leaf_of(self, warc_file: str, offset: int | None = None) -> int | None:
        for i, leaf in enumerate(self.document["leaves"]):
            if leaf["object"] == warc_file and (offset is None or leaf.get("offset") == offset):
                return i
        return None


def evidence_objects(store: EvidenceStore) -> Iterable[StoredObject]:
    return (o for o in store.list() if not o.name.startswith(NOT_EVIDENCE) and not o.name.endswith(".part"))


def write_manifest(
    store: EvidenceStore, settings: Settings, period: Period, now: datetime | None = None
) -> Manifest:
    """Sign and store the manifest of the objects stored in ``period`` (up to now, if it has not ended)."""
    now = now or datetime.now(UTC)
    key = signing_key(settings)
    covered = Period(period.start, min(period.end, now))
    objects, leaves = [], []
    with tempfile.TemporaryDirectory(prefix="vigil-manifest-") as folder:
        for stored in sorted(evidence_objects(store), key=lambda o: o.name):
            if not covered.contains(stored.modified):
                continue
            entry, object_leaves_ = object_leaves(store, stored, Path(folder))
            entry["first_leaf"], entry["leaf_count"] = len(leaves), len(object_leaves_)
            objects.append(entry)
            leaves += object_leaves_
    earlier = manifests_in(store)
    previous = None
    if earlier:
        previous = {"name": earlier[-1], "sha256": hashlib.sha256(store.read(earlier[-1])).hexdigest()}
    key_id = fingerprint(key)
    document = {
        "format": FORMAT,
        "period_start": covered.start.isoformat(),
        "period_end": covered.end.isoformat(),
        "complete": covered.end == period.end,
        "created_at": now.isoformat(),
        "created_by": socket.gethostname(),
        "store": store.uri,
        "key": key_id,
        "tree": TREE,
        "tree_size": len(leaves),
        "root": merkle_root([bytes.fromhex(leaf["sha256"]) for leaf in leaves]).hex(),
        "previous": previous,
        "objects": objects,
        "leaves": leaves,
    }
    data = json.dumps(document, indent=1, sort_keys=True).encode() + b"\n"
    name = manifest_name(covered, now)
    key_name = f"{KEYS}{key_id}.pem"
    try:
        if not store.exists(key_name):
            store.put_bytes(key_name, public_pem(key))
        store.put_bytes(name + ".sig", key.sign(data))
        store.put_bytes(name, data)
    except EvidenceError as exc:
        raise CustodyError(f"manifest {name} not stored: {exc}") from None
    if settings.evidence.tsa_url:
        _timestamp(store, settings.evidence.tsa_url, name, data)
    log.info("evidence manifest written", manifest=name, objects=len(objects), leaves=len(leaves))
    return Manifest(name, document, data)


def timestamp_request(data: bytes) -> bytes:
    """An RFC 3161 TimeStampReq (SHA-512 imprint of ``data``, a nonce, the TSA's certificate asked for)."""
    from rfc3161_client import TimestampRequestBuilder

    return TimestampRequestBuilder().data(data).nonce(nonce=True).cert_request(cert_request=True).build().as_bytes()


def _timestamp(store: EvidenceStore, url: str, name: str, data: bytes) -> None:
    """Store the authority's reply as ``.tsr``; a failure is logged, the signed manifest stands."""
    import urllib.request

    request = urllib.request.Request(
        url, data=timestamp_request(data), headers={"Content-Type": "application/timestamp-query"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - configured URL
            reply = response.read(1_000_000)
        from rfc3161_client import decode_timestamp_response

        decode_timestamp_response(reply)
        store.put_bytes(name + ".tsr", reply)
    except Exception as exc:  # noqa: BLE001 - the time-stamp is an extra; named in the log
        log.warning("manifest time-stamp failed", manifest=name, tsa=url, error=f"{type(exc).__name__}: {exc}")


def load_manifest(store: EvidenceStore, name: str) -> Manifest:
    data = store.read(name)
    return Manifest(name, json.loads(data), data)


def write_due_manifests(store: EvidenceStore, settings: Settings, now: datetime | None = None) -> list[Manifest]:
    """A complete manifest for every ended period, from the oldest object's on, that has none yet.

    A period counts as ended ``GRACE`` after its end, so an upload finishing at the boundary is in.
    """
    now = now or datetime.now(UTC)
    hours = settings.evidence.manifest_interval_hours
    done = set()
    for name in manifests_in(store):
        start, end, _ = _parse_name(name)
        if period_of(start, hours) == Period(start, end):
            done.add(start)
    oldest = min((o.modified for o in evidence_objects(store)), default=None)
    if oldest is None:
        return []
    written: list[Manifest] = []
    period = period_of(oldest, hours)
    while period.end + GRACE <= now and len(written) < MAX_PERIODS_PER_RUN:
        if period.start not in done:
            written.append(write_manifest(store, settings, period, now))
        period = period_of(period.end, hours)
    return written


def covering_manifest(
    store: EvidenceStore, settings: Settings, warc_file: str, offset: int | None = None, write: bool = True
) -> Manifest | None:
    """The newest manifest listing this object (at this offset); with ``write``, one is written if none is."""
    found = [o for o in store.list(warc_file) if o.name == warc_file]
    if not found:
        raise CustodyError(f"evidence object {warc_file} is not in {store.uri}")
    period = period_of(found[0].modified, settings.evidence.manifest_interval_hours)
    for name in reversed(manifests_in(store, f"{MANIFESTS}{period.start:%Y/%m/%d}/")):
        manifest = load_manifest(store, name)
        if manifest.leaf_of(warc_file, offset) is not None:
            return manifest
    if not write:
        return None
    manifest = write_manifest(store, settings, period)
    return manifest if manifest.leaf_of(warc_file, offset) is not None else None


# --- legal holds and retention --------------------------------------------------------------


def hold_name(ad_key: str) -> str:
    return f"{HOLDS}{hashlib.sha256(ad_key.encode()).hexdigest()}.json"


def put_hold(store: EvidenceStore, ad_key: str, reason: str, who: str, objects: Iterable[str]) -> dict:
    hold = {
        "ad_key": ad_key,
        "reason": reason,
        "held_by": who,
        "held_at": datetime.now(UTC).isoformat(),
        "objects": sorted(set(objects)),
    }
    store.put_bytes(hold_name(ad_key), json.dumps(hold, indent=1).encode())
    return hold


def holds(store: EvidenceStore) -> list[dict]:
    found = []
    for stored in store.list(HOLDS):
        try:
            found.append(json.loads(store.read(stored.name)))
        except ValueError:
            log.error("unreadable hold kept as is", hold=stored.name)
    return sorted(found, key=lambda h: h.get("held_at", ""))


def release_hold(store: EvidenceStore, ad_key: str) -> bool:
    name = hold_name(ad_key)
    if not store.exists(name):
        return False
    store.delete(name)
    return True


def expired(objects: Iterable[StoredObject], before: datetime, held: set[str]) -> list[StoredObject]:
    """Evidence stored before ``before`` that no hold keeps; manifests and holds never expire."""
    return [
        o
        for o in objects
        if o.modified < before and not o.name.startswith(NOT_EVIDENCE) and o.name not in held
    ]
