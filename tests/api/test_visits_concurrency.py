"""Simultaneous submissions of one check-in: the unique (worker, client_id) decides, exactly one visit is made.

Each thread has its own test client, so each request runs in its own app context with its own database
session and connection; a barrier releases them together. Meaningful on PostgreSQL (real row locks on
the unique index), and on SQLite (writers serialised by the database lock).
"""

import threading
import uuid
from datetime import timedelta

from sqlalchemy import event, func, select

from extensions import db
from models import Photo, ReviewEvent, Visit, utcnow
from tests.factories import auth_headers, make_beneficiary, make_photo, make_worker

THREADS = 8


def _post_together(app, bodies: list[dict], headers: dict) -> list:
    barrier = threading.Barrier(len(bodies))
    responses: list = [None] * len(bodies)

    def post(index: int) -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post("/api/v1/visits", json=bodies[index], headers=headers)
        responses[index] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=post, args=(index,)) for index in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return responses


def _body(worker) -> dict:
    beneficiary = make_beneficiary(worker.station)
    started_at = utcnow() - timedelta(minutes=40)
    return {
        "client_id": str(uuid.uuid4()),
        "beneficiary_id": beneficiary.id,
        "kind": "home_visit",
        "services": ["policy_implementation"],
        "started_at": started_at.isoformat(),
        "ended_at": (started_at + timedelta(minutes=20)).isoformat(),
        "location": {"latitude": beneficiary.home_latitude, "longitude": beneficiary.home_longitude,
                     "accuracy": 8, "coord_type": "wgs84"},
        "notes": "",
        "photo_ids": [make_photo(worker).id, make_photo(worker).id],
    }


def _count(model, *conditions) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions))


def test_identical_simultaneous_submissions_make_one_visit(app):
    worker = make_worker()
    body = _body(worker)
    headers = auth_headers(worker)

    responses = _post_together(app, [body] * THREADS, headers)

    statuses = sorted(status for status, _ in responses)
    assert statuses == [200] * (THREADS - 1) + [201], responses
    assert len({payload["id"] for _, payload in responses}) == 1
    assert _count(Visit) == 1
    assert _count(ReviewEvent) == 1
    assert _count(Photo, Photo.visit_id.is_not(None)) == 2


def test_conflicting_simultaneous_submissions_keep_one_body(app):
    worker = make_worker()
    body = _body(worker)
    bodies = [{**body, "notes": f"版本 {index}"} for index in range(THREADS)]

    responses = _post_together(app, bodies, auth_headers(worker))

    statuses = sorted(status for status, _ in responses)
    assert statuses == [201] + [409] * (THREADS - 1), responses
    assert all(payload["error"]["code"] == "client_id_conflict" for status, payload in responses if status == 409)
    winner = next(payload for status, payload in responses if status == 201)
    assert _count(Visit) == 1
    assert db.session.get(Visit, winner["id"]).notes == winner["notes"]


def test_two_checkins_racing_for_one_photo_cannot_both_have_it(app):
    worker = make_worker()
    body = _body(worker)
    bodies = [{**body, "client_id": str(uuid.uuid4())} for _ in range(THREADS)]

    responses = _post_together(app, bodies, auth_headers(worker))

    statuses = sorted(status for status, _ in responses)
    assert statuses == [201] + [422] * (THREADS - 1), responses
    assert all("photo_ids" in payload["error"]["fields"] for status, payload in responses if status == 422)
    assert _count(Visit) == 1
    winner = next(payload for status, payload in responses if status == 201)
    assert _count(Photo, Photo.visit_id == winner["id"]) == 2


def test_a_twin_that_commits_while_a_retry_is_being_checked_makes_the_retry_a_replay(app):
    """Pins the narrow interleaving: the retry has checked its body (no visit had its client_id yet, its photos
    were free) and is about to write it when the first request commits, taking the photos. The retry must answer
    200 with that visit, not 422 or 500."""
    worker = make_worker()
    body = _body(worker)
    headers = auth_headers(worker)
    retry_is_about_to_write, first_has_committed = threading.Event(), threading.Event()
    retry_result: list = []

    def hold_the_retry_before_its_insert(conn, cursor, statement, *args):
        if threading.current_thread().name == "retry" and statement.startswith("INSERT INTO visits") \
                and not retry_is_about_to_write.is_set():
            retry_is_about_to_write.set()
            first_has_committed.wait(timeout=30)

    def send_retry() -> None:
        response = app.test_client().post("/api/v1/visits", json=body, headers=headers)
        retry_result.append((response.status_code, response.get_json()))

    event.listen(db.engine, "before_cursor_execute", hold_the_retry_before_its_insert)
    try:
        retry = threading.Thread(target=send_retry, name="retry")
        retry.start()
        assert retry_is_about_to_write.wait(timeout=30)
        first = app.test_client().post("/api/v1/visits", json=body, headers=headers)
        first_has_committed.set()
        retry.join(timeout=60)
    finally:
        event.remove(db.engine, "before_cursor_execute", hold_the_retry_before_its_insert)

    assert first.status_code == 201
    assert retry_result[0][0] == 200, retry_result
    assert retry_result[0][1]["id"] == first.get_json()["id"]
    assert _count(Visit) == 1
