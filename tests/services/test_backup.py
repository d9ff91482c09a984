"""flask backup / restore: a round trip into an empty database and an empty bucket gives back the same
visits, reviews, audit log and photo bytes; damaged backups and non-empty targets are refused."""

import os
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from extensions import db
from factory import create_app
from models import utcnow
from services.photos.intake import store_photo
from services.storage import get_storage
from services.visits.review import approve_visit, return_visit
from services.visits.submission import submit_visit
from tests.conftest import _create_postgres_database, bucket_client
from tests.factories import image_bytes, make_beneficiary, make_supervisor, make_worker

COMPARED_TABLES = ("visits", "review_events", "audit_events", "visit_warnings", "photos", "users", "beneficiaries")


@pytest.fixture
def empty_database(app, tmp_path):
    """The URL of a new database with no tables, on the same kind of server as the run's."""
    if db.engine.dialect.name == "postgresql":
        url, drop = _create_postgres_database(os.environ["TEST_DATABASE_URL"])
        yield url
        drop()
    else:
        yield f"sqlite:///{tmp_path / 'restored.db'}"


@pytest.fixture
def empty_bucket(s3_settings):
    settings = {**s3_settings, "S3_BUCKET": f"zoufang-restore-{uuid.uuid4().hex[:12]}"}
    bucket_client(settings).create_bucket(Bucket=settings["S3_BUCKET"])
    return settings


@pytest.fixture
def small_demo(s3_app):
    """A station's worth of history through the real services: photos, visits, reviews, audit events."""
    worker = make_worker()
    supervisor = make_supervisor(worker.station)
    for index in range(3):
        person = make_beneficiary(worker.station, home_latitude=21.70, home_longitude=110.95)  # warned: far
        photos = [store_photo(worker, image_bytes(seed=100 + index * 2 + n))[0] for n in range(2)]
        visit, _ = submit_visit(worker, checkin(person, photos))
        if index == 0:
            approve_visit(supervisor, visit.id)
        elif index == 1:
            return_visit(supervisor, visit.id, "请补充照片")
    return worker


def checkin(person, photos) -> dict:
    started = utcnow() - timedelta(hours=2)
    return {"client_id": uuid.uuid4(), "beneficiary_id": person.id, "kind": "home_visit",
            "services": ["policy_implementation"], "started_at": started, "ended_at": started + timedelta(minutes=30),
            "location": {"latitude": 21.665, "longitude": 110.928, "accuracy": 10.0, "coord_type": "wgs84"},
            "notes": "", "photo_ids": [photo.id for photo in photos]}


def table_rows(engine, table: str) -> list[tuple]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(f"SELECT * FROM {table} ORDER BY id"))]


def restored_app(database_url: str, bucket: dict, tmp_path: Path):
    return create_app({"TESTING": True, "SECRET_KEY": "restore", "SQLALCHEMY_DATABASE_URI": database_url,
                       "UPLOAD_DIR": str(tmp_path / "unused"), "SERVER_NAME": "localhost", **bucket})


def restore(target, backup: Path):
    """flask restore BACKUP, as run by the target app (as its own CLI would)."""
    with target.app_context():
        result = target.test_cli_runner().invoke(args=["restore", str(backup)])
        db.engine.dispose()
    return result


def test_a_backup_restores_into_an_empty_database_and_bucket_identically(
        s3_app, small_demo, runner, empty_database, empty_bucket, tmp_path):
    backup = tmp_path / "backup"
    result = runner.invoke(args=["backup", "--out", str(backup)])
    assert result.exit_code == 0, result.output
    assert "18 photo objects (18 copied now), 0 missing, 0 damaged" in result.output
    assert {path.name for path in backup.iterdir()} >= {"manifest.json", "objects.jsonl", "objects"}

    target = restored_app(empty_database, empty_bucket, tmp_path)
    restored = restore(target, backup)
    assert restored.exit_code == 0, restored.output
    assert "18 photo objects" in restored.output

    target_engine = sa.create_engine(empty_database)
    try:
        for table in COMPARED_TABLES:
            original = table_rows(db.engine, table)
            assert original, f"the demo has no {table}"
            assert table_rows(target_engine, table) == original, table
    finally:
        target_engine.dispose()
    with target.app_context():
        target_storage = get_storage()
        keys = sorted(stored.key for stored in target_storage.iter_objects())
        assert len(keys) == 18
        assert all(target_storage.get(key) == get_storage(s3_app).get(key) for key in keys)
        # The restored system works: its migrations are at the same head and its photos are served.
        with target.test_client() as client:
            assert client.get("/readyz").status_code == 200


def test_restore_refuses_a_database_that_is_not_empty(s3_app, small_demo, runner, empty_bucket, database_url,
                                                      tmp_path):
    backup = tmp_path / "backup"
    assert runner.invoke(args=["backup", "--out", str(backup)]).exit_code == 0
    target = restored_app(database_url, empty_bucket, tmp_path)  # the run's database, full of tables
    result = restore(target, backup)
    assert result.exit_code == 1 and "不是空的" in result.output
    assert list(bucket_client(empty_bucket).list_objects_v2(Bucket=empty_bucket["S3_BUCKET"]).get("Contents", ())) == []


def test_a_damaged_photo_in_the_backup_stops_the_restore_before_the_database(
        s3_app, small_demo, runner, empty_database, empty_bucket, tmp_path):
    backup = tmp_path / "backup"
    assert runner.invoke(args=["backup", "--out", str(backup)]).exit_code == 0
    damaged = next(path for path in (backup / "objects" / "display").rglob("*.jpg"))
    damaged.write_bytes(damaged.read_bytes()[:-1] + b"\x00")

    target = restored_app(empty_database, empty_bucket, tmp_path)
    result = restore(target, backup)

    assert result.exit_code == 1 and "已损坏" in result.output
    target_engine = sa.create_engine(empty_database)
    try:
        assert sa.inspect(target_engine).get_table_names() == []
    finally:
        target_engine.dispose()


def test_a_second_backup_into_a_shared_photo_folder_copies_only_new_objects(s3_app, small_demo, runner, tmp_path):
    shared = tmp_path / "photos"
    first = runner.invoke(args=["backup", "--out", str(tmp_path / "monday"), "--photos-to", str(shared)])
    assert "18 photo objects (18 copied now)" in first.output
    store_photo(small_demo, image_bytes(seed=999))
    second = runner.invoke(args=["backup", "--out", str(tmp_path / "tuesday"), "--photos-to", str(shared)])
    assert second.exit_code == 0, second.output
    assert "21 photo objects (3 copied now)" in second.output


def test_a_backup_refuses_a_folder_that_is_not_empty(app, runner, tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "manifest.json").write_text("{}")
    result = runner.invoke(args=["backup", "--out", str(tmp_path / "old")])
    assert result.exit_code == 1 and "不是空的" in result.output
