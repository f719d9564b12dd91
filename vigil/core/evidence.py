"""The evidence store: where WARC files, screenshots, manifests and bundles are kept (docs/evidence.md).

A directory under the state directory on one machine; any S3-compatible object store on a cluster.
Objects are written once, whole: a writer finishes a file locally and then stores it, so a reader
never sees half an object and S3's lack of appends does not matter. Names are relative paths of
plain characters, so a name taken from a record can never leave the store.
"""

from __future__ import annotations

import os
import re
import shutil
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vigil.core.config import Settings

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")


class EvidenceError(Exception):
    """The store refused or could not do an operation; the message names the object and the cause."""


@dataclass(frozen=True)
class StoredObject:
    name: str
    size: int
    modified: datetime


def checked(name: str) -> str:
    if not NAME.match(name) or len(name) > 512:
        raise EvidenceError(f"invalid evidence object name {name!r}")
    return name


class EvidenceStore(ABC):
    """Write-once objects by name."""

    uri: str

    @abstractmethod
    def put_file(self, name: str, path: Path) -> None: ...

    @abstractmethod
    def put_bytes(self, name: str, data: bytes) -> None: ...

    @abstractmethod
    def read_range(self, name: str, offset: int = 0, length: int | None = None) -> bytes: ...

    @abstractmethod
    def download(self, name: str, path: Path) -> None: ...

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[StoredObject]: ...

    @abstractmethod
    def delete(self, name: str) -> None: ...

    @abstractmethod
    def exists(self, name: str) -> bool: ...

    def read(self, name: str) -> bytes:
        return self.read_range(name)


class DirectoryStore(EvidenceStore):
    """Objects as files under one directory, owner-only (0700 directories, 0600 files)."""

    def __init__(self, root: Path):
        self.root = root
        self.uri = root.as_uri() if root.is_absolute() else str(root)

    def _path(self, name: str) -> Path:
        return self.root / checked(name)

    def _prepare(self, name: str) -> Path:
        path = self._path(name)
        missing = []
        folder = path.parent
        while not folder.exists():
            missing.append(folder)
            folder = folder.parent
        for folder in reversed(missing):
            folder.mkdir(mode=0o700, exist_ok=True)
            os.chmod(folder, 0o700)
        return path

    def put_file(self, name: str, path: Path) -> None:
        target = self._prepare(name)
        temporary = target.with_name(target.name + ".part")
        shutil.copyfile(path, temporary)
        os.chmod(temporary, 0o600)
        os.replace(temporary, target)

    def put_bytes(self, name: str, data: bytes) -> None:
        target = self._prepare(name)
        temporary = target.with_name(target.name + ".part")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, target)

    def read_range(self, name: str, offset: int = 0, length: int | None = None) -> bytes:
        try:
            with self._path(name).open("rb") as handle:
                handle.seek(offset)
                return handle.read() if length is None else handle.read(length)
        except FileNotFoundError:
            raise EvidenceError(f"evidence object {name} is not in {self.uri}") from None

    def download(self, name: str, path: Path) -> None:
        source = self._path(name)
        if not source.exists():
            raise EvidenceError(f"evidence object {name} is not in {self.uri}")
        shutil.copyfile(source, path)

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        if not self.root.exists():
            return
        for path in sorted(self.root.rglob("*")):
            if not path.is_file() or path.name.endswith(".part"):
                continue
            name = path.relative_to(self.root).as_posix()
            if name.startswith(prefix):
                stat = path.stat()
                yield StoredObject(name, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC))

    def delete(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()


class S3Store(EvidenceStore):
    """Objects in one bucket (under an optional prefix) of any S3-compatible server."""

    def __init__(self, bucket: str, prefix: str, settings: Settings):
        import boto3
        from botocore.config import Config

        evidence = settings.evidence
        secret = evidence.s3_secret_key.get_secret_value() if evidence.s3_secret_key else None
        access = evidence.s3_access_key.get_secret_value() if evidence.s3_access_key else None
        self.client = boto3.client(
            "s3",
            endpoint_url=evidence.s3_endpoint_url,
            region_name=evidence.s3_region,
            aws_access_key_id=access,
            aws_secret_access_key=secret,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}, s3={"addressing_style": "path"}),
        )
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.uri = f"s3://{bucket}/{self.prefix}"

    def _key(self, name: str) -> str:
        return self.prefix + checked(name)

    def _fail(self, name: str, exc: Exception) -> EvidenceError:
        return EvidenceError(f"evidence store {self.uri}: {name}: {exc}")

    def _call(self, name: str, request: Callable[[], Any]) -> Any:
        """One S3 request; its failure named as the store's, with the object and the cause."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return request()
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(name, exc) from exc

    def ensure_bucket(self) -> None:
        """Create the bucket when it does not exist (the local stack's server starts empty)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self._call(self.bucket, lambda: self.client.create_bucket(Bucket=self.bucket))
        except BotoCoreError as exc:
            raise self._fail(self.bucket, exc) from exc

    def put_file(self, name: str, path: Path) -> None:
        self._call(name, lambda: self.client.upload_file(str(path), self.bucket, self._key(name)))

    def put_bytes(self, name: str, data: bytes) -> None:
        self._call(name, lambda: self.client.put_object(Bucket=self.bucket, Key=self._key(name), Body=data))

    def read_range(self, name: str, offset: int = 0, length: int | None = None) -> bytes:
        extra = {}
        if offset or length is not None:
            end = "" if length is None else str(offset + length - 1)
            extra["Range"] = f"bytes={offset}-{end}"
        return self._call(
            name, lambda: self.client.get_object(Bucket=self.bucket, Key=self._key(name), **extra)["Body"].read()
        )

    def download(self, name: str, path: Path) -> None:
        self._call(name, lambda: self.client.download_file(self.bucket, self._key(name), str(path)))

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        from botocore.exceptions import BotoCoreError, ClientError

        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix + prefix)
        try:
            for page in pages:
                for item in page.get("Contents", []):
                    name = item["Key"][len(self.prefix) :]
                    yield StoredObject(name, item["Size"], item["LastModified"])
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(prefix or "/", exc) from exc

    def delete(self, name: str) -> None:
        self._call(name, lambda: self.client.delete_object(Bucket=self.bucket, Key=self._key(name)))

    def exists(self, name: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(name))
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise self._fail(name, exc) from exc
        except BotoCoreError as exc:
            raise self._fail(name, exc) from exc


def open_store(settings: Settings) -> EvidenceStore:
    """The configured store: ``evidence.store`` empty for <state_dir>/evidence, or s3://bucket/prefix."""
    where = settings.evidence.store.strip()
    if not where:
        return DirectoryStore(settings.state_dir / "evidence")
    if where.startswith("s3://"):
        bucket, _, prefix = where[len("s3://") :].partition("/")
        if not bucket:
            raise EvidenceError(f"evidence.store {where!r} names no bucket")
        return S3Store(bucket, prefix, settings)
    return DirectoryStore(Path(where).expanduser())
