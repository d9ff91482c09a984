"""Hostile input to the API gets a 4xx with the JSON error shape, never a 500, and nothing is logged as an error."""

import base64
import io
import json
import logging
import socket

import pytest
import sqlalchemy as sa

from extensions import db
from factory import create_app
from tests.api.test_visits import body_for, visit_count
from tests.factories import auth_headers, image_bytes, make_beneficiary, make_photo, make_visit, make_worker
from tests.live_server import live_server

BEYOND_INT32 = 2**31
BEYOND_INT64 = 2**63
NUL = "\u0000"
LONE_SURROGATE = "\ud800"


@pytest.fixture
def worker(app):
    return make_worker()


@pytest.fixture
def headers(worker):
    return auth_headers(worker)


@pytest.fixture(autouse=True)
def no_error_logged(caplog):
    with caplog.at_level(logging.WARNING):
        yield
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert not errors, [record.getMessage() for record in errors]


def assert_client_error(response, *statuses):
    assert response.status_code in (statuses or (400, 404, 422)), response.get_data(as_text=True)[:500]
    assert response.is_json and {"code", "message"} <= set(response.get_json()["error"])


def raw_json(value) -> bytes:
    """JSON text as a hostile client writes it: lone surrogates as \\ud800 escapes, as json.dumps does."""
    return json.dumps(value).encode()


@pytest.mark.parametrize("bad", [NUL, LONE_SURROGATE, f"abc{NUL}", f"x{LONE_SURROGATE}y"])
def test_bad_characters_in_the_login_username_and_password(client, bad):
    for body in ({"username": bad, "password": "x"}, {"username": "someone", "password": bad}):
        response = client.post("/api/v1/auth/login", data=raw_json(body), content_type="application/json")
        assert_client_error(response)


@pytest.mark.parametrize("bad", [NUL, LONE_SURROGATE])
def test_bad_characters_in_notes_and_nested_strings(client, worker, headers, bad):
    beneficiary = make_beneficiary(worker.station)
    for overrides in ({"notes": f"note{bad}"}, {"findings": {"basic_living": {"value": "ok", "note": bad}}},
                      {"client_id": bad}, {"services": [bad]}, {bad: "an unknown key"}):
        body = body_for(worker, beneficiary, **overrides)
        response = client.post("/api/v1/visits", data=raw_json(body), headers=headers,
                               content_type="application/json")
        assert_client_error(response)
    assert visit_count() == 0


@pytest.mark.parametrize("bad", ["%00", "a%00b", "%ED%A0%80", "%C0%80"])
def test_bad_characters_in_query_strings(client, headers, bad):
    for url in (f"/api/v1/beneficiaries?q={bad}", f"/api/v1/visits?status={bad}", f"/api/v1/visits?cursor={bad}",
                f"/api/v1/beneficiaries?near={bad}", f"/api/v1/beneficiaries?{bad}=1"):
        response = client.get(url, headers=headers)
        assert response.status_code in (200, 400, 422), f"{url}: {response.status_code}"
        assert response.is_json


@pytest.mark.parametrize("number", [BEYOND_INT32, BEYOND_INT64, -BEYOND_INT64 - 1, 10**30])
def test_integers_beyond_the_columns_in_path_ids(client, headers, number):
    for url in (f"/api/v1/visits/{number}", f"/api/v1/photos/{number}", f"/api/v1/photos/{number}/thumb"):
        assert_client_error(client.get(url, headers=headers), 404)
    response = client.put(f"/api/v1/visits/{number}", data=raw_json({"kind": "care_call"}), headers=headers,
                          content_type="application/json")
    assert_client_error(response)


@pytest.mark.parametrize("number", [BEYOND_INT32, BEYOND_INT64, -BEYOND_INT64 - 1, 10**30])
def test_integers_beyond_the_columns_in_body_ids_and_counts(client, worker, headers, number):
    beneficiary = make_beneficiary(worker.station)
    for overrides in ({"beneficiary_id": number}, {"photo_ids": [number]}, {"coworker_ids": [number]},
                      {"people_count": number}):
        body = body_for(worker, beneficiary, **overrides)
        response = client.post("/api/v1/visits", data=raw_json(body), headers=headers,
                               content_type="application/json")
        assert_client_error(response, 422)
    assert visit_count() == 0


def test_people_count_has_a_configurable_maximum(app, client, worker, headers):
    beneficiary = make_beneficiary(worker.station)
    too_many = body_for(worker, beneficiary, kind="community_activity", people_count=51)
    response = client.post("/api/v1/visits", json=too_many, headers=headers)
    assert_client_error(response, 422)
    assert "people_count" in response.get_json()["error"]["fields"]
    app.config["MAX_PEOPLE_COUNT"] = 1000
    assert client.post("/api/v1/visits", json=too_many, headers=headers).status_code == 201


@pytest.mark.parametrize("number", [BEYOND_INT32, BEYOND_INT64, 10**30])
def test_a_forged_cursor_with_a_huge_id(client, worker, headers, number):
    make_visit(worker)
    visit_cursor = base64.urlsafe_b64encode(json.dumps(["2026-01-01T00:00:00+00:00", number]).encode()).decode()
    assert_client_error(client.get(f"/api/v1/visits?cursor={visit_cursor}", headers=headers), 422)
    page = client.get("/api/v1/beneficiaries?limit=1", headers=headers).get_json()
    for order in ("name", "due", "near"):
        forged = base64.urlsafe_b64encode(json.dumps({"order": order, "key": ["x", number]}).encode()).decode()
        response = client.get(f"/api/v1/beneficiaries?cursor={forged}", headers=headers)
        assert response.status_code in (200, 422), response.get_data(as_text=True)
    assert page is not None


def test_json_nested_10000_levels_deep(client, headers):
    deep = ("[" * 10_000 + "]" * 10_000).encode()
    for url in ("/api/v1/visits", "/api/v1/auth/login"):
        response = client.post(url, data=deep, headers=headers, content_type="application/json")
        assert_client_error(response, 400)
    deep_object = ('{"notes":' * 10_000 + '""' + "}" * 10_000).encode()
    assert_client_error(client.post("/api/v1/visits", data=deep_object, headers=headers,
                                    content_type="application/json"), 400)


def test_two_file_parts_in_one_upload_are_refused(client, headers):
    form = {"file": [(io.BytesIO(image_bytes()), "a.jpg", "image/jpeg"),
                     (io.BytesIO(image_bytes()), "b.jpg", "image/jpeg")]}
    response = client.post("/api/v1/photos", data=form, headers=headers, content_type="multipart/form-data")
    assert_client_error(response, 422)
    assert "file" in response.get_json()["error"]["fields"]


def test_a_photo_upload_with_bad_characters_in_its_filename(client, headers):
    form = {"file": (io.BytesIO(image_bytes()), f"a{NUL}b.jpg", "image/jpeg")}
    response = client.post("/api/v1/photos", data=form, headers=headers, content_type="multipart/form-data")
    assert response.status_code in (201, 400, 422)


def test_an_unknown_photo_id_in_a_visit_still_answers_422(client, worker, headers):
    body = body_for(worker, make_beneficiary(worker.station), photos=[make_photo(worker)])
    body["photo_ids"].append(2**31 - 1)
    assert_client_error(client.post("/api/v1/visits", json=body, headers=headers), 422)


def test_an_unreachable_database_answers_503_with_retry_after(database_url, tmp_path, no_error_logged):
    # Nothing listens on port 9 of the loopback: every connection is refused at once.
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "UPLOAD_DIR": str(tmp_path),
                      "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:9/none",
                      "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}}})
    client = app.test_client()
    response = client.post("/api/v1/auth/login", json={"username": "someone", "password": "x"})
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert response.get_json()["error"]["code"] == "service_unavailable"
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer abc"}).status_code == 503


def test_sql_parameters_are_kept_out_of_error_messages(app):
    with pytest.raises(sa.exc.IntegrityError) as raised:
        db.session.execute(sa.text("INSERT INTO stations (code, name) VALUES (:code, :name)"),
                           {"code": None, "name": "secret visit note"})
    db.session.rollback()
    assert "secret visit note" not in str(raised.value)


def _raw_request(base_url: str, request: bytes) -> bytes:
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(request)
        connection.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/api/v1/photos", "/admin/login"])
def test_a_malformed_chunked_body_under_gunicorn(app, database_url, tmp_path, path):
    worker = make_worker()
    token = auth_headers(worker)["Authorization"]
    content_type = "multipart/form-data; boundary=x" if path == "/api/v1/photos" else "application/json"
    request = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {token}\r\n"
               f"Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
               "zz\r\n{}\r\n0\r\n\r\n").encode()
    with live_server(database_url, tmp_path, secret_key=app.config["SECRET_KEY"], workers=1) as base_url:
        answer = _raw_request(base_url, request)
    log = (tmp_path / "gunicorn.log").read_text()
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line.split()[1] in {b"400", b"403"}, answer[:500]
    assert "Traceback" not in log and "unhandled error" not in log, log[-3000:]
