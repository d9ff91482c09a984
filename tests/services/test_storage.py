"""The filesystem storage backend: atomic writes, key validation, listing, backend selection."""

import os
from datetime import timedelta
from pathlib import Path

import pytest

from models import utcnow
from services.storage import (
    BACKENDS,
    FilesystemStorage,
    InvalidStorageKey,
    MissingObject,
    get_storage,
    validate_key,
)


def all_files(root):
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())


def test_put_then_get_exists_delete(tmp_path):
    storage = FilesystemStorage(tmp_path)
    storage.put("originals/ab/cd/abcd", b"evidence")
    assert storage.exists("originals/ab/cd/abcd")
    assert storage.get("originals/ab/cd/abcd") == b"evidence"
    storage.delete("originals/ab/cd/abcd")
    assert not storage.exists("originals/ab/cd/abcd")
    storage.delete("originals/ab/cd/abcd")  # deleting twice is fine
    with pytest.raises(MissingObject):
        storage.get("originals/ab/cd/abcd")


def test_a_write_leaves_only_the_file_under_its_real_name(tmp_path):
    storage = FilesystemStorage(tmp_path)
    storage.put("display/ab/one.jpg", b"first")
    storage.put("display/ab/one.jpg", b"second")
    assert all_files(tmp_path) == ["display/ab/one.jpg"]
    assert storage.get("display/ab/one.jpg") == b"second"


def test_a_failed_write_leaves_neither_the_target_nor_a_temporary(tmp_path, monkeypatch):
    """A disk that fills up during the write: the caller sees the error and nothing is left behind."""
    storage = FilesystemStorage(tmp_path)
    real_fsync = os.fsync

    def failing_fsync(fd):
        real_fsync(fd)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError):
        storage.put("thumbs/ab/two.jpg", b"x" * 1000)
    monkeypatch.undo()
    assert all_files(tmp_path) == []


@pytest.mark.parametrize("key", [
    "../outside", "originals/../../etc/passwd", "/etc/passwd", "originals/./x", "originals//x", "originals/.hidden",
    "originals\\x", "Originals/X", "", "a/" + "b" * 300, "originals/x\x00y",
])
def test_keys_that_could_leave_the_store_are_refused(tmp_path, key):
    storage = FilesystemStorage(tmp_path / "store")
    with pytest.raises(InvalidStorageKey):
        storage.put(key, b"x")
    with pytest.raises(InvalidStorageKey):
        storage.get(key)
    with pytest.raises(InvalidStorageKey):
        validate_key(key)
    assert not any((tmp_path).rglob("x"))


def test_a_symlink_inside_the_store_cannot_lead_out_of_it(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"secret")
    store = tmp_path / "store"
    store.mkdir()
    (store / "originals").symlink_to(outside)
    storage = FilesystemStorage(store)
    with pytest.raises(InvalidStorageKey):
        storage.get("originals/secret")


def test_iter_objects_lists_keys_under_a_prefix_without_temporaries(tmp_path):
    storage = FilesystemStorage(tmp_path)
    storage.put("originals/ab/cd/one", b"1")
    storage.put("thumbs/ab/one.jpg", b"2")
    (tmp_path / "originals" / "ab" / ".partial-crashed").write_bytes(b"half")
    listed = {item.key for item in storage.iter_objects("originals/")}
    assert listed == {"originals/ab/cd/one"}
    assert {item.key for item in storage.iter_objects()} == {"originals/ab/cd/one", "thumbs/ab/one.jpg"}
    assert all(item.modified_at.tzinfo is not None for item in storage.iter_objects())


def test_stale_temporaries_of_crashed_writes_are_removed_but_fresh_ones_kept(tmp_path):
    storage = FilesystemStorage(tmp_path)
    folder = tmp_path / "originals" / "ab"
    folder.mkdir(parents=True)
    stale, fresh = folder / ".partial-old", folder / ".partial-new"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"half")
    old = (utcnow() - timedelta(hours=2)).timestamp()
    os.utime(stale, (old, old))
    assert storage.remove_stale_temporaries(utcnow() - timedelta(hours=1)) == 1
    assert not stale.exists() and fresh.exists()


def test_get_storage_builds_the_configured_backend_once(app):
    storage = get_storage()
    assert isinstance(storage, FilesystemStorage)
    assert storage.root == Path(app.config["UPLOAD_DIR"]).resolve()
    assert get_storage() is storage


def test_an_unknown_backend_is_a_clear_error(app):
    app.config["STORAGE_BACKEND"] = "s3-not-installed"
    app.extensions.pop("zoufang_storage", None)
    with pytest.raises(RuntimeError, match="s3-not-installed"):
        get_storage()
    assert "filesystem" in BACKENDS
