"""Two gunicorn instances sharing one PostgreSQL database and one bucket, a phone's traffic alternating between them.

Nothing may live in one process: photos, idempotent check-ins, login throttling and admin sessions must hold
whichever server a request lands on.
"""

import http.cookiejar
import io
import json
import re
import urllib.parse
import urllib.request
import uuid
from datetime import timedelta

import pytest
from PIL import Image

from models import utcnow
from tests.conftest import bucket_client
from tests.factories import PASSWORD, image_bytes, make_admin, make_beneficiary, make_worker
from tests.servers import gunicorn_server, request


@pytest.fixture(scope="module")
def server_pair(database_url, s3_endpoint, tmp_path_factory):
    """Two app servers on the run's database and one new moto bucket, for this module (PostgreSQL only)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("several app servers need a shared PostgreSQL database (set TEST_DATABASE_URL); "
                    "SQLite is one machine's file")
    bucket = {"STORAGE_BACKEND": "s3", "S3_BUCKET": f"zoufang-pair-{uuid.uuid4().hex[:16]}",
              "S3_ENDPOINT_URL": s3_endpoint, "S3_REGION": "us-east-1", "S3_ACCESS_KEY_ID": "test-key",
              "S3_SECRET_ACCESS_KEY": "test-secret", "S3_KEY_PREFIX": "zoufang", "S3_ADDRESSING_STYLE": "path"}
    bucket_client(bucket).create_bucket(Bucket=bucket["S3_BUCKET"])
    folder = tmp_path_factory.mktemp("two-servers")
    settings = {"DATABASE_URL": database_url, "SECRET_KEY": "shared-by-every-app-server",
                "INSTANCE_DIR": str(folder / "instance"), "GUNICORN_THREADS": "4", **bucket}
    # Each server has its own upload folder: a photo found by the other can only have come from the bucket.
    with gunicorn_server({**settings, "UPLOAD_DIR": str(folder / "a")}, folder / "a.log") as first, \
            gunicorn_server({**settings, "UPLOAD_DIR": str(folder / "b")}, folder / "b.log") as second:
        yield first, second


@pytest.fixture
def two_servers(app, server_pair):
    """The pair, with the test's rows (made through the app fixture) emptied afterwards."""
    return server_pair


def multipart(field: str, filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
            f"Content-Type: image/jpeg\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def login(port: int, username: str, password: str = PASSWORD) -> tuple[int, dict]:
    status, _, body = request(port, "POST", "/api/v1/auth/login", {"username": username, "password": password})
    return status, json.loads(body)


def test_a_phone_alternating_between_two_servers(two_servers):
    first, second = two_servers
    worker = make_worker()
    home = make_beneficiary(worker.station)
    status, logged_in = login(first, worker.username)
    assert status == 200
    bearer = {"Authorization": f"Bearer {logged_in['token']}"}

    # A photo uploaded through one server is served by the other, with the same validator.
    body, content_type = multipart("file", "photo.jpg", image_bytes(seed=21))
    status, _, uploaded = request(first, "POST", "/api/v1/photos", body, {**bearer, "Content-Type": content_type})
    assert status == 201, uploaded
    photo_id = json.loads(uploaded)["id"]
    status, headers, served = request(second, "GET", f"/api/v1/photos/{photo_id}", headers=bearer)
    assert status == 200 and headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(served)).format == "JPEG"
    status, _, _ = request(first, "GET", f"/api/v1/photos/{photo_id}",
                           headers={**bearer, "If-None-Match": headers["etag"]})
    assert status == 304

    # A check-in retried on the other server is the same visit.
    started = utcnow() - timedelta(minutes=40)
    visit = {"client_id": str(uuid.uuid4()), "beneficiary_id": home.id, "kind": "home_visit",
             "services": ["policy_implementation"], "started_at": started.isoformat(),
             "ended_at": (started + timedelta(minutes=25)).isoformat(),
             "location": {"latitude": 21.665, "longitude": 110.928, "accuracy": 15, "coord_type": "wgs84"},
             "notes": "", "photo_ids": [photo_id]}
    status, _, created = request(second, "POST", "/api/v1/visits", visit, bearer)
    assert status == 201, created
    status, _, retried = request(first, "POST", "/api/v1/visits", visit, bearer)
    assert status == 200
    assert json.loads(retried)["id"] == json.loads(created)["id"]
    status, _, listed = request(second, "GET", "/api/v1/visits", headers=bearer)
    assert [item["id"] for item in json.loads(listed)["items"]] == [json.loads(created)["id"]]


def test_the_login_throttle_counts_failures_on_both_servers(app, two_servers):
    first, second = two_servers
    target = make_worker()
    for attempt in range(app.config["LOGIN_MAX_FAILURES"]):
        status, _ = login((first, second)[attempt % 2], target.username, "wrong password")
        assert status == 401
    for port in (first, second):
        status, refused = login(port, target.username)  # even the right password waits now
        assert status == 429, refused


def test_an_admin_session_made_on_one_server_works_on_the_other(two_servers):
    first, second = two_servers
    admin = make_admin()
    cookies = http.cookiejar.CookieJar()  # cookies are per host, not per port: both servers get them
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(cookies))
    page = browser.open(f"http://127.0.0.1:{first}/admin/login", timeout=30).read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": admin.username, "password": PASSWORD, "csrf_token": token})
    landed = browser.open(f"http://127.0.0.1:{first}/admin/login", data=form.encode(), timeout=30)
    assert "/admin/login" not in landed.url

    home = browser.open(f"http://127.0.0.1:{second}/admin/", timeout=30)
    assert home.status == 200 and "/admin/login" not in home.url

    anonymous = urllib.request.build_opener().open(f"http://127.0.0.1:{second}/admin/", timeout=30)
    assert "/admin/login" in anonymous.url  # without the cookie: the login form
