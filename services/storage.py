"""Where photo files live: a small storage interface and its filesystem backend.

Callers speak in keys ("originals/ab/cd/<sha256>") and bytes, never in paths, so an object-store
backend can replace the filesystem one through config STORAGE_BACKEND without touching them.
"""

from __future__ import annotations

import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

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

    def remove_stale_temporaries(self, older_than: datetime) -> int:  # noqa: ARG002 (a no-op by default)
        """Remove leftovers of writes that crashed before completing; backends without them keep this no-op."""
        return 0


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


def _filesystem_from_config(app: Flask) -> Storage:
    return FilesystemStorage(app.config["UPLOAD_DIR"])


# STORAGE_BACKEND name -> builder; an object-store backend registers itself here.
BACKENDS: dict[str, Callable[[Flask], Storage]] = {"filesystem": _filesystem_from_config}


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
