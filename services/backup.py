"""Backups that restore: a consistent database dump, the photo objects it references, and a manifest.

A backup folder holds
- `database.dump` (PostgreSQL: pg_dump's custom format) or `database.sqlite3` (SQLite's online backup);
- `manifest.json`: when, which schema revision, and the dump's SHA-256;
- `objects.jsonl`: one line per photo object the dump references, `{"key", "sha256", "bytes"}`;
- the objects themselves in a photo folder (by default `objects/` inside the backup; point several backups at
  one shared folder and each copies only what is new, since keys are content-addressed and never rewritten).

On PostgreSQL the photo keys are read in the very snapshot pg_dump exports, so the manifest lists exactly the
objects the dump references. Restoring puts every object back, checking its SHA-256, before the database,
so a restored database never points at a missing photo; both targets must be empty.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Connection, make_url

from extensions import db
from models import Photo, utcnow
from services.errors import Invalid
from services.photos.pipeline import SHA256_IN_KEY
from services.storage import FilesystemStorage, MissingObject, Storage, get_storage

MANIFEST = "manifest.json"
OBJECTS_LIST = "objects.jsonl"
POSTGRES_DUMP = "database.dump"
SQLITE_COPY = "database.sqlite3"
FORMAT_VERSION = 1


@dataclass
class BackupReport:
    """What create_backup wrote; missing and damaged objects are named (the backup is then incomplete)."""

    folder: Path
    objects: int = 0
    objects_copied: int = 0
    missing: list[str] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing and not self.damaged


@dataclass
class RestoreReport:
    """What restore_backup put back."""

    objects: int = 0
    database: str = ""


def create_backup(folder: Path, photos_folder: Path | None = None) -> BackupReport:
    """Write a backup of the database and of every photo object it references into folder (new or empty)."""
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()):
        raise Invalid(f"备份目录 {folder} 不是空的", code="backup_folder_not_empty")
    folder.mkdir(parents=True, exist_ok=True)
    photos = FilesystemStorage(photos_folder or folder / "objects")
    engine = db.engine
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            dump_name, keys, revision = _dump_postgres(connection, folder / POSTGRES_DUMP)
        elif engine.dialect.name == "sqlite":
            dump_name, keys, revision = _copy_sqlite(connection, folder / SQLITE_COPY)
        else:
            raise Invalid(f"不支持备份 {engine.dialect.name} 数据库", code="backup_unsupported_database")
    report = BackupReport(folder=folder)
    with open(folder / OBJECTS_LIST, "w", encoding="utf-8") as listing:
        for key in keys:
            entry = _back_up_object(get_storage(), photos, key, report)
            if entry is not None:
                listing.write(json.dumps(entry, separators=(",", ":")) + "\n")
                report.objects += 1
    manifest = {
        "format": FORMAT_VERSION, "created_at": utcnow().isoformat(), "database": engine.dialect.name,
        "dump": dump_name, "dump_sha256": _file_sha256(folder / dump_name), "alembic_revision": revision,
        "objects": report.objects, "objects_list_sha256": _file_sha256(folder / OBJECTS_LIST),
        "photos_folder": str(photos.root), "missing": report.missing, "damaged": report.damaged,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return report


def restore_backup(folder: Path, photos_folder: Path | None = None) -> RestoreReport:
    """Restore a backup into this app's database and photo store, which must both be empty.

    Every object's SHA-256 is checked against the manifest before and after it is stored; the database is
    restored last, in one transaction on PostgreSQL.
    """
    folder = Path(folder)
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT_VERSION:
        raise Invalid("不认识的备份格式", code="backup_format_unknown")
    engine = db.engine
    if manifest["database"] != engine.dialect.name:
        raise Invalid(f"备份来自 {manifest['database']}，不能恢复到 {engine.dialect.name}",
                      code="backup_wrong_database")
    for name, digest in ((manifest["dump"], manifest["dump_sha256"]), (OBJECTS_LIST, manifest["objects_list_sha256"])):
        if _file_sha256(folder / name) != digest:
            raise Invalid(f"备份文件 {name} 已损坏（SHA-256 不符）", code="backup_damaged")
    if sa_inspect(engine).get_table_names():
        raise Invalid("目标数据库不是空的：只能恢复到空数据库", code="restore_database_not_empty")
    storage = get_storage()
    if next(iter(storage.iter_objects()), None) is not None:
        raise Invalid("目标照片存储不是空的：只能恢复到空的存储", code="restore_storage_not_empty")

    photos = FilesystemStorage(_photos_folder_of(folder, manifest, photos_folder))
    report = RestoreReport()
    for entry in _listed_objects(folder / OBJECTS_LIST):
        try:
            data = photos.get(entry["key"])
        except MissingObject as error:
            raise Invalid(f"备份缺少照片 {entry['key']}", code="backup_object_missing") from error
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise Invalid(f"备份中的照片 {entry['key']} 已损坏", code="backup_object_damaged")
        storage.put(entry["key"], data)
        if hashlib.sha256(storage.get(entry["key"])).hexdigest() != entry["sha256"]:
            raise Invalid(f"照片 {entry['key']} 写入后校验失败", code="restore_object_damaged")
        report.objects += 1
    db.session.remove()
    engine.dispose()
    if engine.dialect.name == "postgresql":
        _restore_postgres(folder / manifest["dump"])
    else:
        _restore_sqlite(folder / manifest["dump"])
    engine.dispose()
    report.database = engine.dialect.name
    return report


# --- the database -------------------------------------------------------------------------------------------


def _dump_postgres(connection: Connection, target: Path) -> tuple[str, list[str], str | None]:
    """pg_dump in a snapshot this connection exports, and the photo keys and schema revision as of it."""
    connection.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
    snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
    url, environment = _libpq_target(connection.engine.url)
    subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                    f"--file={target}", f"--dbname={url}"], env=environment, check=True, capture_output=True)
    keys = _referenced_keys(connection)
    revision = _alembic_revision(connection)
    connection.rollback()
    return target.name, keys, revision


def _restore_postgres(dump: Path) -> None:
    url, environment = _libpq_target(db.engine.url)
    subprocess.run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                    f"--dbname={url}", str(dump)], env=environment, check=True, capture_output=True)


def _libpq_target(url) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password (which goes in PGPASSWORD, not on the command line)."""
    environment = dict(os.environ)
    if url.password:
        environment["PGPASSWORD"] = url.password
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), environment


def _copy_sqlite(connection: Connection, target: Path) -> tuple[str, list[str], str | None]:
    """SQLite's online backup (a consistent copy while others write), then the keys as of that copy."""
    source = connection.connection.driver_connection
    with sqlite3.connect(target) as copy:
        source.backup(copy)
    copy.close()
    copy_engine = create_engine(f"sqlite:///{target}")
    with copy_engine.connect() as snapshot:
        keys = _referenced_keys(snapshot)
        revision = _alembic_revision(snapshot)
    copy_engine.dispose()
    return target.name, keys, revision


def _restore_sqlite(copy: Path) -> None:
    # Through SQLite's backup API rather than a file copy, so the target's WAL files stay consistent.
    source = sqlite3.connect(copy)
    target = sqlite3.connect(make_url(str(db.engine.url)).database)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


def _referenced_keys(connection: Connection) -> list[str]:
    rows = connection.execute(select(Photo.storage_key, Photo.display_key, Photo.thumb_key).order_by(Photo.id))
    return sorted({key for row in rows for key in row if key})


def _alembic_revision(connection: Connection) -> str | None:
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


# --- the photo objects --------------------------------------------------------------------------------------


def _back_up_object(storage: Storage, photos: FilesystemStorage, key: str, report: BackupReport) -> dict | None:
    named = SHA256_IN_KEY.search(key)
    if photos.exists(key):
        # Already in a shared photo folder from an earlier backup: keys are never rewritten.
        data = photos.get(key)
    else:
        try:
            data = storage.get(key)
        except MissingObject:
            report.missing.append(key)
            return None
        photos.put(key, data)
        report.objects_copied += 1
    digest = hashlib.sha256(data).hexdigest()
    if key.startswith("originals/") and named and named.group(1) != digest:
        report.damaged.append(key)
        return None
    return {"key": key, "sha256": digest, "bytes": len(data)}


def _photos_folder_of(folder: Path, manifest: dict, given: Path | None) -> Path:
    """The folder given, else the backup's own objects/, else where the backup wrote them."""
    if given is not None:
        return Path(given)
    if (folder / "objects").is_dir():
        return folder / "objects"
    return Path(manifest["photos_folder"])


def _listed_objects(listing: Path) -> Iterator[dict]:
    with open(listing, encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()
