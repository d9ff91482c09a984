"""flask photos prune."""

import os
from datetime import timedelta
from pathlib import Path

from models import utcnow
from services.photos.intake import store_photo
from services.storage import get_storage
from tests.factories import image_bytes, make_worker


def test_prune_deletes_an_old_orphan_and_keeps_a_stored_photo(app, runner):
    photo, _ = store_photo(make_worker(), image_bytes())
    orphan = "originals/ab/cd/" + "ab" * 32
    get_storage().put(orphan, b"left by a crash between write and commit")
    two_hours_ago = (utcnow() - timedelta(hours=2)).timestamp()
    for key in (orphan, photo.storage_key, photo.display_key, photo.thumb_key):
        os.utime(Path(app.config["UPLOAD_DIR"]) / key, (two_hours_ago, two_hours_ago))

    result = runner.invoke(args=["photos", "prune"])

    assert result.exit_code == 0, result.output
    assert "deleted 1 orphaned files, kept 3" in result.output
    storage = get_storage()
    assert not storage.exists(orphan)
    assert all(storage.exists(key) for key in (photo.storage_key, photo.display_key, photo.thumb_key))


def test_prune_refuses_an_unattached_window_shorter_than_the_visit_window(app, runner):
    result = runner.invoke(args=["photos", "prune", "--unattached-days", "2"])
    assert result.exit_code == 1
    assert "Error" in result.output and "Traceback" not in result.output
