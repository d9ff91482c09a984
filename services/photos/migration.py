"""Copying a filesystem photo store into an S3-compatible bucket, verified object by object.

The source is only read, and neither the database nor the configuration is changed: keys are the same in
both backends, so once every object is copied and verified, switching STORAGE_BACKEND is the whole move.
A run that stops half-way is simply run again: objects already in the bucket with the same SHA-256 are
skipped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError

from services.photos.pipeline import SHA256_IN_KEY
from services.storage import MissingObject, S3Storage, Storage


@dataclass
class MigrationReport:
    """What migrate_store did; failed maps a key to the reason it was not copied."""

    copied: int = 0
    already_there: int = 0
    failed: dict[str, str] = field(default_factory=dict)


def migrate_store(source: Storage, target: S3Storage,
                  progress: Callable[[MigrationReport], None] | None = None) -> MigrationReport:
    """Copy every object of source into target and verify each copy's SHA-256 by reading it back.

    An original whose bytes no longer match the SHA-256 in its key is reported, never copied; a copy that
    reads back different is deleted from the bucket and reported. The source is never modified.
    """
    report = MigrationReport()
    for stored in source.iter_objects():
        key = stored.key
        try:
            data = source.get(key)
        except MissingObject:  # removed (pruned) since it was listed
            continue
        digest = hashlib.sha256(data).hexdigest()
        named = SHA256_IN_KEY.search(key)
        if key.startswith("originals/") and named and named.group(1) != digest:
            report.failed[key] = f"source damaged: its SHA-256 is {digest}"
            continue
        try:
            outcome = _copy_verified(target, key, data, digest)
        except (BotoCoreError, ClientError) as error:
            report.failed[key] = f"bucket error: {error}"
            continue
        if outcome is None:
            report.already_there += 1
        elif outcome != digest:
            report.failed[key] = f"copy read back with SHA-256 {outcome}"
        else:
            report.copied += 1
        if progress is not None and report.copied % 1000 == 0:
            progress(report)
    return report


def _copy_verified(target: S3Storage, key: str, data: bytes, digest: str) -> str | None:
    """Put data unless the bucket has it already (None); else the SHA-256 of the copy as read back.

    A copy that reads back different is deleted, so a later run tries it again.
    """
    try:
        if target.stored_sha256(key) == digest:
            return None
    except MissingObject:
        pass
    target.put(key, data)
    copied = hashlib.sha256(target.get(key)).hexdigest()
    if copied != digest:
        target.delete(key)
    return copied
