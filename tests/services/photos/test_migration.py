"""flask photos migrate --to s3: the folder store copied into the bucket, verified, resumable, source untouched."""

import hashlib
from pathlib import Path

from services.photos.intake import store_photo
from services.photos.migration import migrate_store
from services.storage import FilesystemStorage, get_storage, s3_from_config
from tests.conftest import bucket_client, refuse_puts_after
from tests.factories import auth_headers, image_bytes, make_worker


def folder_files(app) -> dict[str, bytes]:
    root = Path(app.config["UPLOAD_DIR"])
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in root.rglob("*") if path.is_file()}


def bucket_objects(settings) -> dict[str, bytes]:
    client, bucket = bucket_client(settings), settings["S3_BUCKET"]
    listed = client.list_objects_v2(Bucket=bucket).get("Contents", ())
    return {item["Key"].removeprefix("zoufang/"): client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            for item in listed}


def test_migrate_copies_every_object_then_the_app_serves_from_the_bucket(app, s3_settings, runner, client):
    worker = make_worker()
    photos = [store_photo(worker, image_bytes(seed=seed))[0] for seed in range(3)]
    before = folder_files(app)
    app.config.update({key: value for key, value in s3_settings.items() if key != "STORAGE_BACKEND"})

    result = runner.invoke(args=["photos", "migrate", "--to", "s3"])

    assert result.exit_code == 0, result.output
    assert "copied 9 objects, 0 already in the bucket, 0 failed" in result.output
    assert bucket_objects(s3_settings) == before
    assert folder_files(app) == before  # the source is never changed
    assert app.config["STORAGE_BACKEND"] == "filesystem"

    app.config["STORAGE_BACKEND"] = "s3"
    app.extensions.pop("zoufang_storage", None)
    served = client.get(f"/api/v1/photos/{photos[0].id}", headers=auth_headers(worker))
    assert served.status_code == 200 and served.data == before[photos[0].display_key]


def test_an_interrupted_migration_resumes_where_it_stopped(app, s3_settings, runner):
    worker = make_worker()
    for seed in range(3):
        store_photo(worker, image_bytes(seed=seed))
    app.config.update(S3_BUCKET=s3_settings["S3_BUCKET"], S3_ENDPOINT_URL=s3_settings["S3_ENDPOINT_URL"],
                      S3_REGION="us-east-1", S3_ACCESS_KEY_ID="k", S3_SECRET_ACCESS_KEY="s",
                      S3_KEY_PREFIX="zoufang", S3_ADDRESSING_STYLE="path")
    source, target = FilesystemStorage(app.config["UPLOAD_DIR"]), s3_from_config(app)
    refuse_puts_after(target, successful=4)  # the bucket goes away after four objects

    interrupted = migrate_store(source, target)

    assert (interrupted.copied, len(interrupted.failed)) == (4, 5)
    assert all(reason.startswith("bucket error") for reason in interrupted.failed.values())
    assert len(bucket_objects(s3_settings)) == 4

    result = runner.invoke(args=["photos", "migrate", "--to", "s3"])
    assert result.exit_code == 0, result.output
    assert "copied 5 objects, 4 already in the bucket, 0 failed" in result.output
    assert bucket_objects(s3_settings) == folder_files(app)


def test_a_damaged_original_is_reported_and_not_copied(app, s3_settings, runner):
    photo, _ = store_photo(make_worker(), image_bytes(seed=11))
    damaged = Path(app.config["UPLOAD_DIR"]) / photo.storage_key
    damaged.write_bytes(damaged.read_bytes()[:-10])
    app.config.update({key: value for key, value in s3_settings.items() if key != "STORAGE_BACKEND"})

    result = runner.invoke(args=["photos", "migrate", "--to", "s3"])

    assert result.exit_code == 1
    assert f"FAILED {photo.storage_key}: source damaged" in result.output
    assert "copied 2 objects, 0 already in the bucket, 1 failed" in result.output
    copied = bucket_objects(s3_settings)
    assert photo.storage_key not in copied
    assert {hashlib.sha256(data).hexdigest() for data in copied.values()} == {
        hashlib.sha256(get_storage().get(key)).hexdigest() for key in (photo.display_key, photo.thumb_key)}
