"""Where photo files live: a small storage interface, its filesystem backend and an S3-compatible one.

Callers speak in keys ("originals/ab/cd/<sha256>") and bytes, never in paths, so the object-store backend
replaces the filesystem one through config STORAGE_BACKEND without touching them.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from flask import Flask, current_app

# Lower-case segments of letters, digits, "_", "-" and "." that never start with a dot: no "..",
# no hidden files, no absolute paths, no backslashes, so a key can never leave the storage root.
_KEY_PATTERN = re.compile(r"[a-z0-9_-][a-z0-9_.-]*(/[a-z0-9_-][a-z0-9_.-]*)*")
_TEMPORARY_PREFIX = ".partial-"
_EXTENSION_KEY = "zoufang_storage"


class InvalidStorageKey(ValueError):
    """A key that is not a plain relative name inside the store."""


class MissingObject(LookupError):
    """No object is stored under the key."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    modified_at: datetime


def validate_key(key: str) -> str:
    """Return the key if it names an object inside the store, else raise InvalidStorageKey."""
    if not isinstance(key, str) or len(key) > 255 or not _KEY_PATTERN.fullmatch(key):
        raise InvalidStorageKey(f"invalid storage key: {key!r}")
    return key


class Storage(ABC):
    """Bytes under keys. Writes are all-or-nothing: a reader never sees a half-written object."""

    @abstractmethod
    def put(self, key: str, data: bytes) -> None:
        """Store data under key, replacing any object there."""

    @abstractmethod
    def get(self, key: str) -> bytes:
        """The object's bytes; MissingObject when there is none."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether an object is stored under key."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; nothing happens when there is none."""

    @abstractmethod
    def iter_objects(self, prefix: str = "") -> Iterator[StoredObject]:
        """Every stored object whose key starts with prefix (a folder such as "originals/")."""

    def remove_stale_temporaries(self, older_than: datetime) -> int:
        """Remove leftovers of writes that crashed before completing; backends without them keep this no-op."""
        return 0

    def delete_many(self, keys: list[str]) -> None:
        """Remove several objects; backends with a batch call override this."""
        for key in keys:
            self.delete(key)

    def stream(self, key: str, chunk_size: int = 64 * 1024) -> tuple[Iterator[bytes], int]:
        """The object as (chunks, length) without holding it whole; MissingObject is raised before the first chunk."""
        data = self.get(key)
        return iter((data,)), len(data)

    def presigned_url(self, key: str, *, expires_in: int, content_type: str, cache_control: str) -> str | None:
        """A short-lived URL a client may fetch the object from directly, or None when the backend has none."""
        return None

    def check(self) -> None:
        """Raise if the store cannot be reached (the readiness probe calls this); listing proves it by default."""
        next(iter(self.iter_objects()), None)


class FilesystemStorage(Storage):
    """Objects as files under a root folder, written to a temporary file and renamed into place."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / validate_key(key)).resolve()
        # The pattern already forbids "..": this guards against a symlink planted inside the root.
        if not path.is_relative_to(self.root):
            raise InvalidStorageKey(f"storage key leaves the store: {key!r}")
        return path

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Same folder as the target, so os.replace is an atomic rename on one filesystem.
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=_TEMPORARY_PREFIX)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _fsync_directory(path.parent)

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as error:
            raise MissingObject(key) from error

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def iter_objects(self, prefix: str = "") -> Iterator[StoredObject]:
        start = self.root / prefix if prefix else self.root
        if not start.is_dir():
            return
        for folder, _subfolders, names in os.walk(start):
            for name in names:
                if name.startswith(_TEMPORARY_PREFIX):
                    continue
                path = Path(folder) / name
                key = path.relative_to(self.root).as_posix()
                if not _KEY_PATTERN.fullmatch(key):
                    continue
                try:
                    modified = path.stat().st_mtime
                except FileNotFoundError:  # deleted while we walked
                    continue
                yield StoredObject(key, datetime.fromtimestamp(modified, UTC))

    def stream(self, key: str, chunk_size: int = 64 * 1024) -> tuple[Iterator[bytes], int]:
        try:
            handle = self._path(key).open("rb")
        except FileNotFoundError as error:
            raise MissingObject(key) from error
        length = os.fstat(handle.fileno()).st_size

        def chunks() -> Iterator[bytes]:
            with handle:
                while block := handle.read(chunk_size):
                    yield block

        return chunks(), length

    def check(self) -> None:
        if not self.root.is_dir() or not os.access(self.root, os.W_OK | os.X_OK):
            raise OSError(f"storage folder {self.root} is missing or not writable")

    def remove_stale_temporaries(self, older_than: datetime) -> int:
        removed = 0
        cutoff = older_than.timestamp()
        for folder, _subfolders, names in os.walk(self.root):
            for name in names:
                path = Path(folder) / name
                if name.startswith(_TEMPORARY_PREFIX) and path.stat().st_mtime < cutoff:
                    path.unlink(missing_ok=True)
                    removed += 1
        return removed


def _fsync_directory(folder: Path) -> None:
    """Make the rename itself durable; some platforms cannot open a directory, which is fine there."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class S3Storage(Storage):
    """Objects in a bucket of an S3-compatible store (AWS S3, Alibaba OSS, Tencent COS, Huawei OBS, MinIO).

    A PUT is atomic on S3: the object appears whole or not at all, so no temporaries exist. Every object
    carries its SHA-256 as metadata (x-amz-meta-sha256), which the migration and the backups verify against.
    Keys are stored under an optional prefix, so one bucket can hold several deployments.
    """

    def __init__(self, client, bucket: str, prefix: str = ""):
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    @classmethod
    def from_settings(cls, *, bucket: str, endpoint_url: str | None = None, region: str | None = None,
                      access_key_id: str | None = None, secret_access_key: str | None = None,
                      prefix: str = "", addressing_style: str = "virtual",
                      connect_timeout: float = 5, read_timeout: float = 30) -> S3Storage:
        """Build the backend from plain settings; empty credentials fall back to boto3's usual chain."""
        if not bucket:
            raise RuntimeError("STORAGE_BACKEND=s3 needs S3_BUCKET")
        if addressing_style not in {"path", "virtual", "auto"}:
            raise RuntimeError(f"S3_ADDRESSING_STYLE must be path, virtual or auto, not {addressing_style!r}")
        client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region or None,
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None,
            config=BotoConfig(
                signature_version="s3v4",
                s3={"addressing_style": addressing_style},
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                retries={"max_attempts": 3, "mode": "standard"},
                # Only the checksums S3 requires: several S3-compatible stores refuse the newer default ones.
                # Every PUT sends Content-MD5 itself, which all of them check.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                max_pool_connections=20,
            ),
        )
        return cls(client, bucket, prefix)

    def _object_key(self, key: str) -> str:
        return self.prefix + validate_key(key)

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=self._object_key(key), Body=data,
            ContentMD5=base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode(),
            Metadata={"sha256": hashlib.sha256(data).hexdigest()},
        )

    def get(self, key: str) -> bytes:
        return self._get_object(key)["Body"].read()

    def _get_object(self, key: str) -> dict:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._object_key(key))
        except self.client.exceptions.NoSuchKey as error:
            raise MissingObject(key) from error

    def stream(self, key: str, chunk_size: int = 64 * 1024) -> tuple[Iterator[bytes], int]:
        response = self._get_object(key)
        body = response["Body"]

        def chunks() -> Iterator[bytes]:
            try:
                yield from body.iter_chunks(chunk_size)
            finally:
                body.close()

        return chunks(), int(response["ContentLength"])

    def exists(self, key: str) -> bool:
        try:
            self.stored_sha256(key)
        except MissingObject:
            return False
        return True

    def stored_sha256(self, key: str) -> str | None:
        """The SHA-256 recorded with the object (None for an object written without it); MissingObject if none."""
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._object_key(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                raise MissingObject(key) from error
            raise
        return head.get("Metadata", {}).get("sha256")

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._object_key(key))

    def delete_many(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):  # DeleteObjects takes at most 1,000 keys
            batch = [{"Key": self._object_key(key)} for key in keys[start:start + 1000]]
            response = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            if response.get("Errors"):
                first = response["Errors"][0]
                raise OSError(f"could not delete {len(response['Errors'])} objects, e.g. {first.get('Key')}: "
                              f"{first.get('Code')}")

    def iter_objects(self, prefix: str = "") -> Iterator[StoredObject]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            for item in page.get("Contents", ()):
                key = item["Key"][len(self.prefix):]
                if _KEY_PATTERN.fullmatch(key):
                    yield StoredObject(key, item["LastModified"].astimezone(UTC))

    def presigned_url(self, key: str, *, expires_in: int, content_type: str, cache_control: str) -> str | None:
        return self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self._object_key(key),
                    "ResponseContentType": content_type, "ResponseCacheControl": cache_control},
            ExpiresIn=expires_in,
        )

    def check(self) -> None:
        self.client.head_bucket(Bucket=self.bucket)


def _filesystem_from_config(app: Flask) -> Storage:
    return FilesystemStorage(app.config["UPLOAD_DIR"])


def s3_from_config(app: Flask) -> S3Storage:
    """The S3 backend from the app's S3_* settings (also used by `photos migrate --to s3`)."""
    config = app.config
    return S3Storage.from_settings(
        bucket=config.get("S3_BUCKET", ""), endpoint_url=config.get("S3_ENDPOINT_URL"),
        region=config.get("S3_REGION"), access_key_id=config.get("S3_ACCESS_KEY_ID"),
        secret_access_key=config.get("S3_SECRET_ACCESS_KEY"), prefix=config.get("S3_KEY_PREFIX", ""),
        addressing_style=config.get("S3_ADDRESSING_STYLE", "virtual"),
        connect_timeout=config.get("S3_CONNECT_TIMEOUT_SECONDS", 5),
        read_timeout=config.get("S3_READ_TIMEOUT_SECONDS", 30),
    )


# STORAGE_BACKEND name -> builder.
BACKENDS: dict[str, Callable[[Flask], Storage]] = {"filesystem": _filesystem_from_config, "s3": s3_from_config}


def get_storage(app: Flask | None = None) -> Storage:
    """The app's storage backend, built once from config STORAGE_BACKEND and kept in app.extensions."""
    app = app if app is not None else current_app
    storage = app.extensions.get(_EXTENSION_KEY)
    if storage is None:
        backend = app.config.get("STORAGE_BACKEND", "filesystem")
        if backend not in BACKENDS:
            raise RuntimeError(f"unknown STORAGE_BACKEND {backend!r}; known: {', '.join(sorted(BACKENDS))}")
        storage = app.extensions[_EXTENSION_KEY] = BACKENDS[backend](app)
    return storage
