"""One JSON line per request: request id (also in X-Request-ID), route, status, duration, user id; nothing personal."""

import json
import logging

import pytest

from services.request_log import LOGGER_NAME
from tests.factories import auth_headers, make_beneficiary, make_station, make_worker


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[dict] = []

    def emit(self, record):
        self.lines.append(json.loads(record.getMessage()))


@pytest.fixture
def logged():
    handler = Lines()
    logger = logging.getLogger(LOGGER_NAME)
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)


def test_an_api_request_gives_one_line_with_its_id_user_status_and_duration(client, logged):
    worker = make_worker()
    response = client.get("/api/v1/me", headers=auth_headers(worker))
    assert response.status_code == 200
    [line] = logged
    assert line["request_id"] == response.headers["X-Request-ID"] and len(line["request_id"]) == 32
    assert (line["method"], line["path"], line["status"], line["user_id"]) == ("GET", "/api/v1/me", 200, worker.id)
    assert line["route"] == "/api/v1/me" and line["duration_ms"] >= 0
    assert line["event"] == "request" and line["time"].endswith("+00:00")


def test_each_request_gets_its_own_id_and_a_proxys_id_is_kept(client, logged):
    first, second = client.get("/healthz"), client.get("/healthz", headers={"X-Request-ID": "nginx-0123456789abcdef"})
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
    assert second.headers["X-Request-ID"] == "nginx-0123456789abcdef"
    forged = client.get("/healthz", headers={"X-Request-ID": "<script>{\"status\":1}"})
    assert forged.headers["X-Request-ID"] != "<script>{\"status\":1}"
    assert [line["request_id"] for line in logged] == [response.headers["X-Request-ID"]
                                                       for response in (first, second, forged)]
    assert all(line["user_id"] is None for line in logged)


def test_no_personal_data_reaches_the_line(client, logged):
    station = make_station()
    worker = make_worker(station)
    person = make_beneficiary(station, name="张小明")
    client.post("/api/v1/auth/login", json={"username": worker.username, "password": "wrong password"})
    client.get("/api/v1/beneficiaries", query_string={"q": person.name}, headers=auth_headers(worker))
    client.get("/api/v1/beneficiaries", query_string={"q": person.id_number}, headers=auth_headers(worker))
    text = "\n".join(json.dumps(line, ensure_ascii=False) for line in logged)
    assert len(logged) == 3
    for personal in (worker.username, "wrong password", person.name, person.id_number, "127.0.0.1"):
        assert personal not in text
    assert [line["status"] for line in logged] == [401, 200, 200]


def test_errors_are_logged_with_their_status(client, logged):
    assert client.get("/api/v1/visits/999999", headers=auth_headers(make_worker())).status_code == 404
    assert client.get("/no/such/page").status_code == 404
    assert [(line["status"], line["route"]) for line in logged] == [(404, "/api/v1/visits/<int:visit_id>"),
                                                                   (404, None)]
