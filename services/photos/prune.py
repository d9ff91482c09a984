"""Photo housekeeping: remove stored files no row references and photos never attached to a visit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete

from extensions import db
from models import Photo, utcnow
from services.errors import Invalid
from services.photos.intake import referenced_keys
from services.storage import Storage, get_storage


@dataclass
class PruneReport:
    """What prune_orphan_files did."""

    files_deleted: int = 0
    files_kept: int = 0
    photos_deleted: int = 0
    temporaries_deleted: int = 0


_PRUNED_FOLDERS = ("originals/", "display/", "thumbs/")
_PRUNE_BATCH = 500


def prune_orphan_files(*, min_age: timedelta = timedelta(hours=1),
                       unattached_older_than: timedelta | None = None) -> PruneReport:
    """Delete stored files no Photo row references, and optionally photos never attached to a visit.

    Files younger than min_age are kept: they may belong to an upload whose commit is still running.
    Unattached photos must be older than the visit age window, since an offline phone may still
    submit the visit that uses them.
    """
    report = PruneReport()
    if unattached_older_than is not None:
        report.photos_deleted = _delete_unattached_photos(unattached_older_than)
        # Durable before any file is looked at: a file becomes unreferenced only once its row is gone for good.
        db.session.commit()
    storage = get_storage()
    cutoff = utcnow() - min_age
    report.temporaries_deleted = storage.remove_stale_temporaries(cutoff)
    batch: list[str] = []
    for folder in _PRUNED_FOLDERS:
        for stored in storage.iter_objects(folder):
            if stored.modified_at >= cutoff:
                report.files_kept += 1
                continue
            batch.append(stored.key)
            if len(batch) >= _PRUNE_BATCH:
                _prune_batch(storage, batch, report)
                batch = []
    _prune_batch(storage, batch, report)
    return report


def _prune_batch(storage: Storage, keys: list[str], report: PruneReport) -> None:
    keep = referenced_keys(keys)
    unreferenced = [key for key in keys if key not in keep]
    storage.delete_many(unreferenced)
    report.files_kept += len(keys) - len(unreferenced)
    report.files_deleted += len(unreferenced)


def _delete_unattached_photos(older_than: timedelta) -> int:
    window = current_app.config["VISIT_MAX_AGE"] + current_app.config["VISIT_MAX_FUTURE"]
    if older_than <= window:
        raise Invalid(f"未关联走访的照片须保留超过 {window.days} 天（离线走访仍可能引用）",
                      code="prune_window_too_short", params={"days": window.days},
                      fields={"unattached_older_than": ["太短"]})
    result = db.session.execute(
        delete(Photo).where(Photo.visit_id.is_(None), Photo.created_at < utcnow() - older_than)
    )
    return result.rowcount
