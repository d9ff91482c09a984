"""POST /api/v1/photos, GET /api/v1/photos/<id>[/thumb]: uploads, bad input, and who may see the copies."""

import io
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from extensions import db
from models import Photo
from tests.factories import (
    auth_headers,
    image_bytes,
    make_admin,
    make_reviewable_visit,
    make_station,
    make_supervisor,
    make_worker,
    photo_exif,
)

PHOTO_FIELDS = {"id", "sha256", "mime_type", "width", "height", "bytes", "taken_at", "gps", "camera_make",
                "camera_model", "visit_id", "url", "thumb_url"}


def upload(client, user, data: bytes | None, filename: str = "photo.jpg", content_type: str = "image/jpeg"):
    form = {} if data is None else {"file": (io.BytesIO(data), filename, content_type)}
    return client.post("/api/v1/photos", data=form, headers=auth_headers(user), content_type="multipart/form-data")


def stored_files(app) -> list[str]:
    root = Path(app.config["UPLOAD_DIR"])
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())


def photo_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Photo))


def assert_refused_and_nothing_kept(app, response, status: int, code: str | None = None):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    error = response.get_json()["error"]
    assert error["message"] and (code is None or error["code"] == code)
    assert photo_count() == 0
    assert stored_files(app) == []


# --- uploads ------------------------------------------------------------------------------------------------


def test_upload_returns_201_with_the_photo_and_its_urls(client):
    worker = make_worker()
    data = image_bytes("JPEG", (1200, 900), exif=photo_exif(taken="2024:05:06 09:41:12", offset="+08:00",
                                                            gps=(21.665, 110.928), make="HUAWEI"))
    response = upload(client, worker, data)
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == PHOTO_FIELDS
    assert (body["width"], body["height"], body["mime_type"], body["bytes"]) == (1200, 900, "image/jpeg", len(data))
    assert body["taken_at"] == "2024-05-06T01:41:12+00:00"
    assert body["gps"] == {"lat": pytest.approx(21.665, abs=1e-5), "lon": pytest.approx(110.928, abs=1e-5)}
    assert body["url"].endswith(f"/api/v1/photos/{body['id']}")
    assert body["thumb_url"].endswith(f"/api/v1/photos/{body['id']}/thumb")
    assert "storage_key" not in body


@pytest.mark.parametrize(("fmt", "mime_type"), [("PNG", "image/png"), ("WEBP", "image/webp")])
def test_png_and_webp_are_accepted_whatever_the_name_and_header_say(client, fmt, mime_type):
    response = upload(client, make_worker(), image_bytes(fmt), filename="photo.jpg", content_type="image/jpeg")
    assert response.status_code == 201
    assert response.get_json()["mime_type"] == mime_type


def test_the_same_bytes_again_give_200_and_the_same_photo(client):
    worker = make_worker()
    data = image_bytes()
    first = upload(client, worker, data)
    again = upload(client, worker, data, filename="retry.jpg")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["id"] == first.get_json()["id"]
    assert photo_count() == 1


def test_the_same_bytes_from_another_worker_are_their_own_photo(client):
    data = image_bytes()
    mine = upload(client, make_worker(), data)
    theirs = upload(client, make_worker(), data)
    assert theirs.status_code == 201
    assert theirs.get_json()["id"] != mine.get_json()["id"]


def test_upload_needs_a_token(client):
    response = client.post("/api/v1/photos", data={"file": (io.BytesIO(image_bytes()), "a.jpg")})
    assert response.status_code == 401
    assert photo_count() == 0


# --- bad input: a 4xx, the error shape, no row, no file -----------------------------------------------------


def test_no_file_field_is_a_422_naming_the_field(app, client):
    worker = make_worker()
    response = client.post("/api/v1/photos", data={"photo": (io.BytesIO(image_bytes()), "a.jpg")},
                           headers=auth_headers(worker), content_type="multipart/form-data")
    assert_refused_and_nothing_kept(app, response, 422, "validation_error")
    assert "file" in response.get_json()["error"]["fields"]


def test_a_json_body_instead_of_a_file_is_a_422(app, client):
    response = client.post("/api/v1/photos", json={"file": "aGVsbG8="}, headers=auth_headers(make_worker()))
    assert_refused_and_nothing_kept(app, response, 422, "validation_error")


def test_a_text_field_named_file_is_not_a_file(app, client):
    response = client.post("/api/v1/photos", data={"file": "not a file"}, headers=auth_headers(make_worker()),
                           content_type="multipart/form-data")
    assert_refused_and_nothing_kept(app, response, 422)


def test_an_empty_file_is_a_422(app, client):
    assert_refused_and_nothing_kept(app, upload(client, make_worker(), b""), 422, "file_empty")


def _gif() -> bytes:
    return image_bytes("GIF", (64, 48))


def _truncated(fmt: str) -> bytes:
    data = image_bytes(fmt, (640, 480), exif=photo_exif(taken="2024:05:06 09:41:12"))
    return data[: len(data) // 2]


def _bomb() -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (20_000, 10_000)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(("make_data", "status", "code"), [
    (lambda: b"hello, I am text named photo.jpg", 415, "unsupported_image_type"),
    (lambda: b"<!DOCTYPE html><html><script>alert(1)</script></html>", 415, "unsupported_image_type"),
    (lambda: b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', 415,
     "unsupported_image_type"),
    (lambda: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog>>endobj\n%%EOF", 415, "unsupported_image_type"),
    (_gif, 415, "unsupported_image_type"),
    (lambda: _truncated("JPEG"), 422, "image_corrupt"),
    (lambda: _truncated("PNG"), 422, "image_corrupt"),
    (_bomb, 422, "image_too_large"),
], ids=["text", "html", "svg", "pdf", "gif", "truncated-jpeg", "truncated-png", "bomb"])
def test_bad_files_named_jpg_are_refused_and_nothing_is_kept(app, client, make_data, status, code):
    response = upload(client, make_worker(), make_data(), filename="photo.jpg", content_type="image/jpeg")
    assert_refused_and_nothing_kept(app, response, status, code)


def test_a_30_mb_upload_is_a_413_in_the_error_shape(app, client):
    response = upload(client, make_worker(), b"\xff\xd8\xff" + b"\0" * (30 * 1024 * 1024))
    assert_refused_and_nothing_kept(app, response, 413, "payload_too_large")


def test_a_file_over_the_photo_limit_but_within_the_request_limit_is_a_413(app, client):
    app.config["MAX_PHOTO_BYTES"] = 10_000
    data = image_bytes("JPEG", (1200, 900), quality=95)
    assert len(data) > 10_000
    response = upload(client, make_worker(), data)
    assert_refused_and_nothing_kept(app, response, 413, "photo_too_large")


# --- serving ------------------------------------------------------------------------------------------------


@pytest.fixture
def station():
    return make_station()


@pytest.fixture
def owner(station):
    return make_worker(station)


@pytest.fixture
def photo_id(client, owner) -> int:
    data = image_bytes("JPEG", (2000, 1500), exif=photo_exif(gps=(21.665, 110.928), make="HUAWEI"))
    return upload(client, owner, data).get_json()["id"]


def attach_to_visit(photo_id: int, worker) -> None:
    visit = make_reviewable_visit(worker)
    db.session.get(Photo, photo_id).visit_id = visit.id
    db.session.commit()


def test_the_owner_gets_the_display_copy_with_safe_caching_headers(client, owner, photo_id):
    response = client.get(f"/api/v1/photos/{photo_id}", headers=auth_headers(owner))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"].startswith("private")
    assert "Authorization" in response.headers["Vary"]
    etag, weak = response.get_etag()
    assert etag and not weak
    image = Image.open(io.BytesIO(response.data))
    assert image.size == (1600, 1200)
    assert len(image.getexif()) == 0 and "exif" not in image.info


def test_the_thumbnail_is_its_own_copy_with_its_own_etag(client, owner, photo_id):
    display = client.get(f"/api/v1/photos/{photo_id}", headers=auth_headers(owner))
    thumb = client.get(f"/api/v1/photos/{photo_id}/thumb", headers=auth_headers(owner))
    assert thumb.status_code == 200
    assert Image.open(io.BytesIO(thumb.data)).size == (320, 240)
    assert thumb.get_etag()[0] != display.get_etag()[0]


def test_a_matching_if_none_match_is_a_304_without_a_body(client, owner, photo_id):
    headers = auth_headers(owner)
    etag = client.get(f"/api/v1/photos/{photo_id}/thumb", headers=headers).headers["ETag"]
    response = client.get(f"/api/v1/photos/{photo_id}/thumb", headers={**headers, "If-None-Match": etag})
    assert response.status_code == 304
    assert response.data == b""
    assert response.headers["ETag"] == etag
    assert response.headers["Cache-Control"].startswith("private")
    stale = client.get(f"/api/v1/photos/{photo_id}/thumb", headers={**headers, "If-None-Match": '"other"'})
    assert stale.status_code == 200


def test_another_worker_gets_404_even_with_the_etag(client, station, owner, photo_id):
    etag = client.get(f"/api/v1/photos/{photo_id}", headers=auth_headers(owner)).headers["ETag"]
    stranger = make_worker(station)
    for path in (f"/api/v1/photos/{photo_id}", f"/api/v1/photos/{photo_id}/thumb"):
        response = client.get(path, headers={**auth_headers(stranger), "If-None-Match": etag})
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "photo_not_found"


def test_the_supervisor_of_the_visits_station_sees_it_and_another_supervisor_does_not(client, station, owner,
                                                                                    photo_id):
    supervisor, other_supervisor = make_supervisor(station), make_supervisor(make_station())
    # Unattached, a photo is its owner's alone.
    assert client.get(f"/api/v1/photos/{photo_id}", headers=auth_headers(supervisor)).status_code == 404
    attach_to_visit(photo_id, owner)
    assert client.get(f"/api/v1/photos/{photo_id}", headers=auth_headers(supervisor)).status_code == 200
    assert client.get(f"/api/v1/photos/{photo_id}/thumb", headers=auth_headers(supervisor)).status_code == 200
    assert client.get(f"/api/v1/photos/{photo_id}", headers=auth_headers(other_supervisor)).status_code == 404


def test_an_admin_sees_every_photo(client, photo_id):
    assert client.get(f"/api/v1/photos/{photo_id}", headers=auth_headers(make_admin())).status_code == 200


def test_an_unknown_photo_is_404_and_the_original_has_no_url(client, owner, photo_id):
    assert client.get("/api/v1/photos/999999", headers=auth_headers(owner)).status_code == 404
    original = client.get(f"/api/v1/photos/{photo_id}/original", headers=auth_headers(owner))
    assert original.status_code == 404 and original.is_json


def test_serving_needs_a_token(client, photo_id):
    assert client.get(f"/api/v1/photos/{photo_id}").status_code == 401


# --- the real photos of ../shared/testdata/photos -----------------------------------------------------------


def upload_file(client, user, path: Path):
    return upload(client, user, path.read_bytes(), filename=path.name, content_type="application/octet-stream")


def test_an_iphone_heic_is_accepted_with_its_gps(client, shared_photos):
    response = upload_file(client, make_worker(), shared_photos / "formats" / "iphone11_gps.heic")
    assert response.status_code == 201
    body = response.get_json()
    assert (body["mime_type"], body["width"], body["height"]) == ("image/heif", 2566, 3313)
    assert body["gps"] == {"lat": pytest.approx(39.051344, abs=1e-5), "lon": pytest.approx(-94.288772, abs=1e-5)}
    assert body["taken_at"] == "2021-04-11T20:47:53+00:00"  # 15:47:53 at -05:00
    assert body["camera_make"] == "Apple"


def test_camera_gps_is_read(client, shared_photos):
    body = upload_file(client, make_worker(), shared_photos / "gps" / "DSCN0010.jpg").get_json()
    assert body["gps"] == {"lat": pytest.approx(43.467448, abs=1e-5), "lon": pytest.approx(11.885127, abs=1e-5)}
    assert body["camera_make"] == "NIKON"


def test_bogus_gps_is_ignored_and_the_photo_accepted(client, shared_photos):
    response = upload_file(client, make_worker(), shared_photos / "bad" / "bogus_gps.jpg")
    assert response.status_code == 201
    assert response.get_json()["gps"] is None


@pytest.mark.parametrize(("name", "status"), [
    ("truncated.jpg", 422), ("truncated.png", 422), ("truncated_exif_ok.jpg", 422),
    ("bomb_14000x14000.jpg", 422), ("bomb_4gpx.gif", 415),
])
def test_the_bad_set_is_refused_and_nothing_kept(app, client, shared_photos, name, status):
    response = upload_file(client, make_worker(), shared_photos / "bad" / name)
    assert_refused_and_nothing_kept(app, response, status)


def test_avif_is_refused(app, client, shared_photos):
    response = upload_file(client, make_worker(), shared_photos / "formats" / "exif.avif")
    assert_refused_and_nothing_kept(app, response, 415, "unsupported_image_type")


@pytest.mark.parametrize(("name", "size"), [
    ("landscape_3.jpg", (600, 450)), ("landscape_6.jpg", (600, 450)), ("landscape_8.jpg", (600, 450)),
    ("portrait_6.jpg", (450, 600)), ("canon_orientation6.jpg", (1200, 1600)),
])
def test_real_orientation_samples_are_served_upright(client, shared_photos, name, size):
    worker = make_worker()
    photo_id = upload_file(client, worker, shared_photos / "orientation" / name).get_json()["id"]
    display = client.get(f"/api/v1/photos/{photo_id}", headers=auth_headers(worker))
    assert Image.open(io.BytesIO(display.data)).size == size


def test_a_gps_photo_served_after_rotation_leaks_no_gps(client, shared_photos):
    worker = make_worker()
    rotated_with_gps = shared_photos / "orientation" / "DSCN0010_orientation6_gps.jpg"
    photo_id = upload_file(client, worker, rotated_with_gps).get_json()["id"]
    for path in (f"/api/v1/photos/{photo_id}", f"/api/v1/photos/{photo_id}/thumb"):
        served = client.get(path, headers=auth_headers(worker)).data
        assert len(Image.open(io.BytesIO(served)).getexif()) == 0
        assert b"Exif" not in served and b"NIKON" not in served
