"""Photo intake: store an upload's original and derived copies, record the row, dedupe per owner.

The original bytes are kept untouched as evidence; only derived copies are ever served. Refused uploads
leave nothing behind, and a failed commit removes the files this call wrote unless another row needs them.
"""

from __future__ import annotations

import hashlib

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage

from extensions import db
from models import Photo, User
from services.photos.pipeline import (
    SHA256_IN_KEY,
    PhotoLimits,
    ProcessedPhoto,
    display_key,
    original_key,
    phash_bands,
    process_photo_bytes,
    read_upload,
    thumb_key,
)
from services.storage import Storage, get_storage


def store_photo(owner: User, upload: FileStorage | bytes | None) -> tuple[Photo, bool]:
    """Store one uploaded photo of owner; return (photo, created).

    The same bytes from the same owner give back the existing photo with created False, also when two
    uploads of them race. Nothing is kept when the upload is refused or the commit fails. The files are
    written before the row is committed, so this function also rolls back itself: a losing race ends its
    transaction to read the winner's row, and any failure removes the files it wrote.
    """
    limits = PhotoLimits.from_config(current_app.config)
    data = read_upload(upload, limits.max_bytes)
    existing = _owned_photo(owner.id, hashlib.sha256(data).hexdigest())
    if existing is not None:
        return existing, False
    processed = process_photo_bytes(data, limits)
    storage = get_storage()
    files = {
        original_key(processed.sha256): data,
        display_key(processed.sha256): processed.display_jpeg,
        thumb_key(processed.sha256): processed.thumb_jpeg,
    }
    written = _write_missing(storage, files)
    photo = _photo_row(owner, processed)
    db.session.add(photo)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        winner = _owned_photo(owner.id, processed.sha256)
        if winner is None:
            _remove_unreferenced(storage, written)
            raise
        return winner, False
    except BaseException:
        db.session.rollback()
        _remove_unreferenced(storage, written)
        raise
    # A concurrent failed upload of the same content may have removed a shared file just before our
    # commit made it referenced; put it back.
    _write_missing(storage, files)
    return photo, True


def _owned_photo(owner_id: int, sha256: str) -> Photo | None:
    return db.session.scalar(select(Photo).where(Photo.owner_id == owner_id, Photo.sha256 == sha256))


def _write_missing(storage: Storage, files: dict[str, bytes]) -> list[str]:
    """Write the files not stored yet (content-addressed: an existing one already holds these bytes)."""
    written = []
    try:
        for key, content in files.items():
            if not storage.exists(key):
                storage.put(key, content)
                written.append(key)
    except BaseException:
        _remove_unreferenced(storage, written)
        raise
    return written


def _photo_row(owner: User, processed: ProcessedPhoto) -> Photo:
    band0, band1, band2, band3 = phash_bands(processed.phash)
    metadata = processed.metadata
    return Photo(
        owner_id=owner.id, sha256=processed.sha256, phash=processed.phash,
        phash_band0=band0, phash_band1=band1, phash_band2=band2, phash_band3=band3,
        storage_key=original_key(processed.sha256), display_key=display_key(processed.sha256),
        thumb_key=thumb_key(processed.sha256), mime_type=processed.mime_type,
        width=processed.width, height=processed.height, bytes=processed.byte_count,
        taken_at=metadata.taken_at, taken_at_has_offset=metadata.taken_at_has_offset,
        gps_latitude=metadata.gps_latitude, gps_longitude=metadata.gps_longitude,
        camera_make=metadata.camera_make, camera_model=metadata.camera_model,
    )


def referenced_keys(keys: list[str]) -> set[str]:
    """Those of keys that some Photo row points at (as original, display copy or thumbnail)."""
    # Keys end in the content's sha256, which is indexed; the key columns themselves are not.
    digests = {SHA256_IN_KEY.search(key).group(1) for key in keys if SHA256_IN_KEY.search(key)}
    if not digests:
        return set()
    rows = db.session.execute(
        select(Photo.storage_key, Photo.display_key, Photo.thumb_key).where(Photo.sha256.in_(digests))
    )
    wanted = set(keys)
    return {key for row in rows for key in row if key in wanted}


def _remove_unreferenced(storage: Storage, keys: list[str]) -> None:
    if not keys:
        return
    try:
        keep = referenced_keys(keys)
    except Exception:  # the database is what just failed: leave the files to prune_orphan_files
        current_app.logger.warning("photo files %s left for pruning", keys, exc_info=True)
        return
    for key in keys:
        if key not in keep:
            storage.delete(key)
