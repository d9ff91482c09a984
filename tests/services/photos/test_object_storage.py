"""Photos kept in an S3-compatible bucket (moto's server on loopback): upload, serving, dedupe, prune, failures."""

import io
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import EndpointConnectionError
from sqlalchemy import func, select

from extensions import db
from models import Photo
from services.photos.delivery import variant_etag
from services.photos.intake import store_photo
from services.photos.prune import prune_orphan_files
from services.storage import get_storage
from tests.conftest import bucket_client, refuse_puts_after
from tests.factories import auth_headers, image_bytes, make_worker


def bucket_keys(settings) -> list[str]:
    listed = bucket_client(settings).list_objects_v2(Bucket=settings["S3_BUCKET"])
    return sorted(item["Key"].removeprefix("zoufang/") for item in listed.get("Contents", ()))


def upload(client, user, data: bytes):
    return client.post("/api/v1/photos", data={"file": (io.BytesIO(data), "photo.jpg", "image/jpeg")},
                       headers=auth_headers(user), content_type="multipart/form-data")


def photo_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Photo))


def test_an_upload_lands_in_the_bucket_and_is_served_from_it(s3_app, s3_settings, client):
    worker = make_worker()
    data = image_bytes("JPEG", (1200, 900), seed=1)
    response = upload(client, worker, data)
    assert response.status_code == 201, response.get_data(as_text=True)
    photo = db.session.get(Photo, response.get_json()["id"])
    assert bucket_keys(s3_settings) == sorted([photo.storage_key, photo.display_key, photo.thumb_key])
    assert bucket_client(s3_settings).get_object(
        Bucket=s3_settings["S3_BUCKET"], Key="zoufang/" + photo.storage_key)["Body"].read() == data

    served = client.get(f"/api/v1/photos/{photo.id}", headers=auth_headers(worker))
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert served.data == get_storage().get(photo.display_key) and served.data != data
    assert served.headers["Content-Length"] == str(len(served.data))
    again = client.get(f"/api/v1/photos/{photo.id}/thumb", headers=auth_headers(worker))
    cached = client.get(f"/api/v1/photos/{photo.id}/thumb",
                        headers={**auth_headers(worker), "If-None-Match": again.headers["ETag"]})
    assert cached.status_code == 304 and cached.data == b""


def test_the_original_is_never_served_and_strangers_get_404(s3_app, client):
    owner, stranger = make_worker(), make_worker()
    photo, _ = store_photo(owner, image_bytes(seed=2))
    assert client.get(f"/api/v1/photos/{photo.id}", headers=auth_headers(stranger)).status_code == 404
    served = client.get(f"/api/v1/photos/{photo.id}", headers=auth_headers(owner))
    assert served.data != get_storage().get(photo.storage_key)


def test_redirect_mode_sends_a_short_lived_presigned_url_after_the_permission_check(s3_app, client):
    s3_app.config.update(PHOTO_DELIVERY="redirect", PHOTO_URL_SECONDS=120)
    owner, stranger = make_worker(), make_worker()
    photo, _ = store_photo(owner, image_bytes(seed=3))
    assert client.get(f"/api/v1/photos/{photo.id}/thumb", headers=auth_headers(stranger)).status_code == 404
    response = client.get(f"/api/v1/photos/{photo.id}/thumb", headers=auth_headers(owner))
    assert response.status_code == 302
    assert response.headers["Cache-Control"] == "no-store"
    location = urlsplit(response.headers["Location"])
    assert location.netloc == urlsplit(s3_app.config["S3_ENDPOINT_URL"]).netloc
    assert "X-Amz-Expires=120" in location.query and photo.thumb_key in location.path
    assert "ETag" not in response.headers  # the bucket's answer carries the copy's own validator
    cached = client.get(f"/api/v1/photos/{photo.id}/thumb",
                        headers={**auth_headers(owner), "If-None-Match": f'"{variant_etag(photo, "thumb")}"'})
    assert cached.status_code == 304


def test_the_same_bytes_are_stored_once_in_the_bucket(s3_app, s3_settings, client):
    first, second = make_worker(), make_worker()
    data = image_bytes(seed=4)
    assert upload(client, first, data).status_code == 201
    repeated = upload(client, first, data)
    assert repeated.status_code == 200
    assert upload(client, second, data).status_code == 201  # another owner: another row, the same objects
    assert photo_count() == 2
    assert len(bucket_keys(s3_settings)) == 3


def test_prune_removes_unreferenced_objects_of_the_bucket_only_when_old_enough(s3_app, s3_settings):
    photo, _ = store_photo(make_worker(), image_bytes(seed=5))
    orphan = "originals/ab/cd/" + "ab" * 32
    get_storage().put(orphan, b"left by a crash between write and commit")

    young = prune_orphan_files()  # default: objects younger than an hour are kept
    assert young.files_deleted == 0 and orphan in bucket_keys(s3_settings)

    report = prune_orphan_files(min_age=timedelta(0))
    assert (report.files_deleted, report.files_kept) == (1, 3)
    assert bucket_keys(s3_settings) == sorted([photo.storage_key, photo.display_key, photo.thumb_key])


def test_prune_removes_long_unattached_photos_and_their_objects(s3_app, s3_settings):
    photo, _ = store_photo(make_worker(), image_bytes(seed=6))
    photo.created_at = photo.created_at - timedelta(days=40)
    db.session.commit()
    report = prune_orphan_files(min_age=timedelta(0), unattached_older_than=timedelta(days=30))
    assert report.photos_deleted == 1 and report.files_deleted == 3
    assert bucket_keys(s3_settings) == []


@pytest.mark.parametrize("successful_puts", [0, 1, 2])
def test_a_failed_put_leaves_no_row_and_no_object(s3_app, s3_settings, successful_puts):
    refuse_puts_after(get_storage(), successful=successful_puts)
    with pytest.raises(EndpointConnectionError):
        store_photo(make_worker(), image_bytes(seed=7))
    db.session.rollback()
    assert photo_count() == 0
    assert bucket_keys(s3_settings) == []


def test_a_failed_put_keeps_objects_another_photo_still_uses(s3_app, s3_settings):
    data = image_bytes(seed=8)
    kept, _ = store_photo(make_worker(), data)
    refuse_puts_after(get_storage(), successful=0)
    again, created = store_photo(make_worker(), data)  # all three objects exist: no put needed
    assert created and again.storage_key == kept.storage_key
    assert len(bucket_keys(s3_settings)) == 3
