"""POST/GET /api/v1/visits, GET/PUT /api/v1/visits/<id>: the phone's check-ins over HTTP."""

import io
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from api.v1.visits import VisitCreateSchema
from extensions import db
from models import Photo, Visit, utcnow
from services.visits import workflow
from services.visits.inputs import FindingInput, LocationInput, VisitInput
from services.visits.submission import body_fingerprint
from tests.factories import (
    PASSWORD,
    auth_headers,
    image_bytes,
    make_beneficiary,
    make_photo,
    make_station,
    make_supervisor,
    make_visit,
    make_worker,
    photo_exif,
)

# eviltransform's Shanghai pair (googollee/eviltransform python/test.py): WGS-84 home, the phone's GCJ-02 fix.
HOME_WGS84 = (31.1774276, 121.5272106)
PHONE_GCJ02 = (31.17530398364597, 121.531541859215)


def iso(moment) -> str:
    return moment.isoformat()


def body_for(worker, beneficiary, photos=None, **overrides) -> dict:
    """A JSON visit body as a phone sends it."""
    started_at = utcnow() - timedelta(minutes=40)
    body = {
        "client_id": str(uuid.uuid4()),
        "beneficiary_id": beneficiary.id,
        "kind": "home_visit",
        "services": ["policy_implementation", "resource_linking"],
        "started_at": iso(started_at),
        "ended_at": iso(started_at + timedelta(minutes=25)),
        "location": {"latitude": PHONE_GCJ02[0], "longitude": PHONE_GCJ02[1], "accuracy": 15, "coord_type": "gcj02"},
        "notes": "老人身体尚可，反映屋顶漏水",
        "photo_ids": [photo.id for photo in (photos if photos is not None else [make_photo(worker)])],
    }
    body.update(overrides)
    return body


def visit_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Visit))


def attached_photo_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Photo).where(Photo.visit_id.is_not(None)))


@pytest.fixture
def worker(app):
    return make_worker()


@pytest.fixture
def home(worker):
    return make_beneficiary(worker.station, home_latitude=HOME_WGS84[0], home_longitude=HOME_WGS84[1], name="陈桂兰")


@pytest.fixture
def headers(worker):
    return auth_headers(worker)


def test_submit_a_home_visit_with_gcj02_coordinates(client, worker, home, headers):
    photos = [make_photo(worker) for _ in range(3)]
    body = body_for(worker, home, photos)

    response = client.post("/api/v1/visits", json=body, headers=headers)

    assert response.status_code == 201, response.get_json()
    visit = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/visits/{visit['id']}")
    assert visit["client_id"] == body["client_id"]
    assert visit["beneficiary"] == {"id": home.id, "name": "陈桂兰"}
    assert visit["location"] == body["location"]
    assert visit["location_wgs84"]["coord_type"] == "wgs84"
    assert visit["location_wgs84"]["latitude"] == pytest.approx(HOME_WGS84[0], abs=1e-5)
    assert visit["distance_from_home_m"] < 1
    assert [photo["id"] for photo in visit["photos"]] == [photo.id for photo in photos]
    assert visit["photos"][0]["thumb_url"].endswith(f"/api/v1/photos/{photos[0].id}/thumb")
    assert visit["status"] == "submitted" and visit["revision"] == 1 and visit["review"] is None
    assert visit["warnings"] == [] and visit["warning_count"] == 0
    assert visit["received_at"].endswith("+00:00") and visit["started_at"].endswith("+00:00")
    assert visit_count() == 1


def test_warnings_come_back_with_code_message_and_evidence(client, worker, home, headers):
    body = body_for(worker, home, mock_location=True,
                    location={"latitude": HOME_WGS84[0] + 0.01, "longitude": HOME_WGS84[1], "accuracy": 150,
                              "coord_type": "wgs84"})
    visit = client.post("/api/v1/visits", json=body, headers=headers).get_json()
    warnings = {warning["code"]: warning for warning in visit["warnings"]}
    assert set(warnings) == {"far_from_home", "poor_accuracy", "mock_location"}
    assert warnings["far_from_home"]["evidence"]["threshold_m"] == 300
    assert warnings["far_from_home"]["evidence"]["distance_m"] == 1112
    assert all(warning["message"] and warning["severity"] for warning in visit["warnings"])
    assert visit["warning_count"] == 3 and visit["warning_severity"] == 3


def test_a_retry_returns_the_same_visit_with_200(client, worker, home, headers):
    body = body_for(worker, home)
    first = client.post("/api/v1/visits", json=body, headers=headers)
    retry = client.post("/api/v1/visits", json={**body, "client_sent_at": iso(utcnow())}, headers=headers)
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.get_json()["id"] == first.get_json()["id"]
    assert visit_count() == 1


def test_another_body_under_the_same_client_id_is_409(client, worker, home, headers):
    body = body_for(worker, home)
    client.post("/api/v1/visits", json=body, headers=headers)
    response = client.post("/api/v1/visits", json={**body, "notes": "另一条"}, headers=headers)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "client_id_conflict"
    assert visit_count() == 1


def test_unknown_fields_are_ignored(client, worker, home, headers):
    body = body_for(worker, home, weather="晴", location={**body_for(worker, home)["location"], "altitude": 12})
    response = client.post("/api/v1/visits", json=body, headers=headers)
    assert response.status_code == 201
    assert "weather" not in response.get_json()
    # Ignored fields are not part of the body's identity either.
    del body["weather"]
    assert client.post("/api/v1/visits", json=body, headers=headers).status_code == 200


def _location(**values) -> dict:
    return {"latitude": 21.6, "longitude": 110.9, "accuracy": 5, "coord_type": "wgs84", **values}


# The "Bad input" list of issue 3 for visits, and friends: name -> body builder(worker, home).
BAD_INPUTS = {
    "another worker's photo": lambda w, h: body_for(w, h, [make_photo(make_worker(w.station))]),
    "unknown beneficiary": lambda w, h: body_for(w, h, beneficiary_id=987_654),
    "other-station beneficiary": lambda w, h: body_for(w, h, beneficiary_id=make_beneficiary(make_station()).id),
    "10 photos": lambda w, h: body_for(w, h, [make_photo(w) for _ in range(10)]),
    "time in the future": lambda w, h: body_for(w, h, started_at=iso(utcnow() + timedelta(hours=1)),
                                                ended_at=iso(utcnow() + timedelta(hours=2))),
    "latitude 91": lambda w, h: body_for(w, h, location=_location(latitude=91)),
    "1 MB notes": lambda w, h: body_for(w, h, notes="x" * 1_000_000),
    "kind as a number": lambda w, h: body_for(w, h, kind=5),
    "time as words": lambda w, h: body_for(w, h, started_at="yesterday"),
    "naive time": lambda w, h: body_for(w, h, started_at="2024-05-06T09:30:00"),
    "photo ids as a string": lambda w, h: body_for(w, h, photo_ids="1,2"),
    "beneficiary id as a string": lambda w, h: body_for(w, h, beneficiary_id="12"),
    "location as a string": lambda w, h: body_for(w, h, location="here"),
    "latitude NaN": lambda w, h: body_for(w, h, location=_location(latitude="NaN")),
    "client id not a uuid": lambda w, h: body_for(w, h, client_id="abc"),
    "missing kind": lambda w, h: {key: value for key, value in body_for(w, h).items() if key != "kind"},
    "unknown service": lambda w, h: body_for(w, h, services=["magic"]),
    "no photo on a home visit": lambda w, h: body_for(w, h, []),
    "ends before it starts": lambda w, h: body_for(w, h, ended_at=iso(utcnow() - timedelta(hours=2))),
    "coordinate system bd09": lambda w, h: body_for(w, h, location=_location(coord_type="bd09")),
    "negative accuracy": lambda w, h: body_for(w, h, location=_location(accuracy=-3)),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_a_4xx_with_the_error_shape_and_stores_nothing(client, worker, home, headers, case):
    response = client.post("/api/v1/visits", json=BAD_INPUTS[case](worker, home), headers=headers)
    assert response.status_code in (413, 422), response.status_code
    error = response.get_json()["error"]
    assert error["code"] and error["message"] and error["fields"]
    assert visit_count() == 0 and attached_photo_count() == 0


@pytest.mark.parametrize(("case", "field"), [("latitude 91", "location.latitude"), ("naive time", "started_at"),
                                             ("1 MB notes", "notes"), ("10 photos", "photo_ids"),
                                             ("unknown beneficiary", "beneficiary_id"), ("kind as a number", "kind")])
def test_bad_input_names_the_field(client, worker, home, headers, case, field):
    response = client.post("/api/v1/visits", json=BAD_INPUTS[case](worker, home), headers=headers)
    assert field in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("payload", [["a list"], "a string", None])
def test_a_body_that_is_not_an_object_is_400(client, headers, payload):
    response = client.post("/api/v1/visits", json=payload, headers=headers)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_json"


def test_visits_need_a_token(client):
    assert client.post("/api/v1/visits", json={}).status_code == 401
    assert client.get("/api/v1/visits").status_code == 401


def test_a_supervisor_cannot_submit(client, worker, home):
    response = client.post("/api/v1/visits", json=body_for(worker, home),
                           headers=auth_headers(make_supervisor(worker.station)))
    assert response.status_code == 403 and visit_count() == 0


def test_get_own_visit_with_the_reviewers_comment(client, worker, home, headers):
    visit = make_visit(worker, home)
    supervisor = make_supervisor(worker.station, display_name="王督导")
    workflow.transition(visit, "return", supervisor, "请补充厨房照片")
    db.session.commit()
    body = client.get(f"/api/v1/visits/{visit.id}", headers=headers).get_json()
    assert body["status"] == "returned"
    assert body["review"]["reviewer"] == "王督导" and body["review"]["comment"] == "请补充厨房照片"
    assert body["review"]["reviewed_at"].endswith("+00:00")


def test_someone_elses_visit_is_404(client, worker, home):
    visit = make_visit(worker, home)
    for other in (make_worker(worker.station), make_supervisor(make_station())):
        response = client.get(f"/api/v1/visits/{visit.id}", headers=auth_headers(other))
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "visit_not_found"
    assert client.get("/api/v1/visits/999999", headers=auth_headers(worker)).status_code == 404


def test_list_pages_with_the_cursor(client, worker, home, headers):
    visits = [make_visit(worker, home) for _ in range(5)]
    make_visit(make_worker(worker.station))
    seen, url = [], "/api/v1/visits?limit=2"
    while url:
        page = client.get(url, headers=headers).get_json()
        assert set(page) == {"items", "next_cursor"} and len(page["items"]) <= 2
        seen.extend(item["id"] for item in page["items"])
        url = f"/api/v1/visits?limit=2&cursor={page['next_cursor']}" if page["next_cursor"] else None
    assert seen == [visit.id for visit in reversed(visits)]


def test_a_bad_cursor_is_422_invalid_cursor_like_on_every_list(client, worker, headers):
    make_beneficiary(worker.station)
    make_beneficiary(worker.station)
    beneficiaries_cursor = client.get("/api/v1/beneficiaries?limit=1", headers=headers).get_json()["next_cursor"]
    for cursor in ("garbage", beneficiaries_cursor):
        response = client.get("/api/v1/visits", query_string={"cursor": cursor}, headers=headers)
        assert response.status_code == 422
        assert response.get_json()["error"]["code"] == "invalid_cursor"
        assert "cursor" in response.get_json()["error"]["fields"]


def test_list_filters(client, worker, home, headers):
    returned = make_visit(worker, home)
    workflow.transition(returned, "return", make_supervisor(worker.station), "补充")
    db.session.commit()
    make_visit(worker, home)
    by_status = client.get("/api/v1/visits?status=returned", headers=headers).get_json()
    assert [item["id"] for item in by_status["items"]] == [returned.id]
    future = (utcnow() + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert client.get(f"/api/v1/visits?updated_since={future}", headers=headers).get_json()["items"] == []
    assert len(client.get("/api/v1/visits?updated_since=2000-01-01T00:00:00Z", headers=headers)
               .get_json()["items"]) == 2


@pytest.mark.parametrize("query", ["status=lost", "limit=0", "limit=201", "limit=x", "cursor=%25%25",
                                   "updated_since=yesterday", "updated_since=2024-01-01T00:00:00"])
def test_bad_list_parameters_are_422(client, headers, query):
    response = client.get(f"/api/v1/visits?{query}", headers=headers)
    assert response.status_code == 422 and response.get_json()["error"]["fields"]


def test_list_query_count_is_the_same_for_1_and_20_visits(client, count_queries):
    few, many = make_worker(), make_worker()
    make_visit(few)
    for index in range(20):
        visit = make_visit(many)
        if index % 4 == 0:
            workflow.transition(visit, "return", make_supervisor(many.station), "补充")
            db.session.commit()
    counts = []
    for worker in (few, many):
        headers = auth_headers(worker)
        db.session.expire_all()
        with count_queries() as counter:
            response = client.get("/api/v1/visits", headers=headers)
        assert response.status_code == 200
        counts.append((counter.count, len(response.get_json()["items"])))
    assert counts[0][1] == 1 and counts[1][1] == 20
    assert counts[0][0] == counts[1][0]


def _returned_visit(worker, home):
    visit = make_visit(worker, home)
    workflow.transition(visit, "return", make_supervisor(worker.station), "请补充厨房照片")
    db.session.commit()
    return visit


def test_put_resubmits_a_returned_visit(client, worker, home, headers):
    visit = _returned_visit(worker, home)
    new_photo = make_photo(worker)
    body = body_for(worker, home, [new_photo], notes="已补充厨房照片", mock_location=True)
    del body["client_id"]
    response = client.put(f"/api/v1/visits/{visit.id}", json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    updated = response.get_json()
    assert (updated["status"], updated["revision"], updated["notes"]) == ("submitted", 2, "已补充厨房照片")
    assert [photo["id"] for photo in updated["photos"]] == [new_photo.id]
    assert [warning["code"] for warning in updated["warnings"]] == ["mock_location"]


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_put_on_a_decided_visit_is_409(client, worker, home, headers, action):
    visit = make_visit(worker, home)
    workflow.transition(visit, action, make_supervisor(worker.station), "意见")
    db.session.commit()
    response = client.put(f"/api/v1/visits/{visit.id}", json=body_for(worker, home, notes="改"), headers=headers)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "invalid_transition"
    db.session.expire_all()
    stored = db.session.get(Visit, visit.id)
    assert (stored.notes, stored.revision) == ("", 1)
    assert stored.status == {"approve": "approved", "reject": "rejected"}[action]


def test_put_on_someone_elses_visit_is_404(client, worker, home):
    visit = _returned_visit(worker, home)
    other = make_worker(worker.station)
    response = client.put(f"/api/v1/visits/{visit.id}", json=body_for(other, home), headers=auth_headers(other))
    assert response.status_code == 404


def test_invalid_put_changes_nothing(client, worker, home, headers):
    visit = _returned_visit(worker, home)
    response = client.put(f"/api/v1/visits/{visit.id}", json=body_for(worker, home, notes="改", photo_ids=[]),
                          headers=headers)
    assert response.status_code == 422
    db.session.expire_all()
    stored = db.session.get(Visit, visit.id)
    assert (stored.status, stored.notes, len(stored.photos)) == ("returned", "", 1)


# --- the "Done when" path of issue 3, with real photos through the real upload pipeline --------------------

def upload_photo(client, headers, data: bytes) -> dict:
    response = client.post("/api/v1/photos", data={"file": (io.BytesIO(data), "photo.jpg", "image/jpeg")},
                           headers=headers, content_type="multipart/form-data")
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()


def test_a_phone_logs_in_uploads_submits_retries_lists_and_sees_the_warnings(client, worker, home):
    login = client.post("/api/v1/auth/login", json={"username": worker.username, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {login.get_json()['token']}"}
    # Two photos as WeChat sends them (no EXIF); one original with a camera's GPS 2 km away, taken in 2024.
    far_gps = (HOME_WGS84[0] + 0.018, HOME_WGS84[1])
    photos = [upload_photo(client, headers, image_bytes("JPEG", (800, 600))) for _ in range(2)]
    photos.append(upload_photo(client, headers, image_bytes(
        "JPEG", (1600, 1200), exif=photo_exif(taken="2024:05:06 09:41:12", offset="+08:00", gps=far_gps))))
    body = body_for(worker, home, photos=[], photo_ids=[photo["id"] for photo in photos])

    created = client.post("/api/v1/visits", json=body, headers=headers)
    retried = client.post("/api/v1/visits", json=body, headers=headers)

    assert (created.status_code, retried.status_code) == (201, 200)
    assert created.get_json()["id"] == retried.get_json()["id"]
    listed = client.get("/api/v1/visits", headers=headers).get_json()["items"]
    assert [item["id"] for item in listed] == [created.get_json()["id"]]
    warnings = {warning["code"]: warning["evidence"] for warning in listed[0]["warnings"]}
    assert set(warnings) == {"photo_far", "photo_old"}
    assert [item["photo_id"] for item in warnings["photo_far"]["photos"]] == [photos[2]["id"]]
    assert 1900 < warnings["photo_far"]["photos"][0]["distance_m"] < 2100
    assert [item["photo_id"] for item in warnings["photo_old"]["photos"]] == [photos[2]["id"]]


def test_a_photo_reused_by_another_worker_is_flagged_by_bytes_and_by_look(client, worker, home, headers):
    original = image_bytes("JPEG", (1200, 900), seed=7, quality=95)
    first_photo = upload_photo(client, headers, original)
    first = client.post("/api/v1/visits", json=body_for(worker, home, [], photo_ids=[first_photo["id"]]),
                        headers=headers).get_json()

    colleague = make_worker(worker.station)
    colleague_headers = auth_headers(colleague)
    same_bytes = upload_photo(client, colleague_headers, original)
    # The same picture saved again smaller and at another quality: other bytes, the same look.
    recompressed = upload_photo(client, colleague_headers, image_bytes("JPEG", (600, 450), seed=7, quality=60))
    assert recompressed["sha256"] != first_photo["sha256"]
    second = client.post("/api/v1/visits", headers=colleague_headers,
                         json=body_for(colleague, home, [], photo_ids=[same_bytes["id"], recompressed["id"]]))

    warning = next(item for item in second.get_json()["warnings"] if item["code"] == "photo_reused")
    matches = {match["photo_id"]: match for match in warning["evidence"]["matches"]}
    assert warning["evidence"]["other_visit_ids"] == [first["id"]]
    assert matches[same_bytes["id"]]["match"] == "sha256"
    assert matches[recompressed["id"]]["match"] == "phash"
    assert matches[recompressed["id"]]["other_photo_id"] == first_photo["id"]


def test_warning_messages_are_the_chinese_evidence_sentences(client, worker, home, headers):
    body = body_for(worker, home, location={"latitude": HOME_WGS84[0] + 0.01, "longitude": HOME_WGS84[1],
                                            "accuracy": 150, "coord_type": "wgs84"})
    visit = client.post("/api/v1/visits", json=body, headers=headers).get_json()
    messages = {warning["code"]: (warning["message"], warning["severity"]) for warning in visit["warnings"]}
    assert messages["far_from_home"] == ("打卡位置距登记住址 1.1 公里（定位精度 150 米）", 2)
    assert messages["poor_accuracy"] == ("定位精度只有 150 米（要求 100 米以内）", 1)


def test_a_resubmission_keeps_the_previous_revision_and_the_workers_reply(client, worker, home, headers):
    visit = _returned_visit(worker, home)
    old_photo_ids = [photo.id for photo in visit.photos]
    new_photo = make_photo(worker)
    body = body_for(worker, home, [new_photo], notes="已补充厨房照片", mock_location=True, reply="厨房照片已补拍")
    del body["client_id"]
    assert client.put(f"/api/v1/visits/{visit.id}", json=body, headers=headers).status_code == 200
    db.session.expire_all()
    stored = db.session.get(Visit, visit.id)
    event = stored.review_events[-1]
    assert (event.action, event.comment, event.revision) == ("resubmit", "厨房照片已补拍", 2)
    assert event.snapshot["revision"] == 1 and event.snapshot["photo_ids"] == old_photo_ids
    assert event.snapshot["fields"]["notes"] != "已补充厨房照片"
    assert stored.resubmitted_at == event.created_at

# --- the check-in path: typed input, statements, the answer built from what was written ----------

# Fingerprints computed by the release that stored the loaded body as a dict: a phone's late retry of a
# check-in stored then must still be recognised as the same body.
EARLIER_RELEASE_BODY = {
    "client_id": "5b0e2c1e-8f8a-4b43-9a53-2f4f3d1f7c10", "beneficiary_id": 12, "kind": "home_visit",
    "services": ["policy_implementation", "resource_linking"], "domains": ["elderly"],
    "started_at": "2024-05-06T09:30:00+08:00", "ended_at": "2024-05-06T09:55:00+08:00",
    "location": {"latitude": 21.6625, "longitude": 110.9331, "accuracy": 15, "coord_type": "gcj02"},
    "notes": "老人身体尚可", "photo_ids": [31, 32],
    "findings": {"safety": {"value": "concern", "note": "屋顶漏水"}, "health": {"value": "ok"}},
    "needs": ["housing_repair"], "follow_up_needed": True, "follow_up_due": "2024-05-20", "photo_consent": True,
    "coworker_ids": [7], "people_count": 1, "mock_location": False, "client_sent_at": "2024-05-06T09:56:00+08:00",
}
EARLIER_RELEASE_FINGERPRINTS = {
    "full": "5d4e7b42acb1e52214658d1cfc61b0e5a5d74d0faa4bae9d6571603614c9222b",
    "minimal": "106c15d9dfb491cc7be942ce475ff77a6315f271d0c929438f6690b2224342fc",
}


def test_the_schema_loads_a_typed_input(app):
    loaded = VisitCreateSchema().load(EARLIER_RELEASE_BODY)
    assert isinstance(loaded, VisitInput)
    assert loaded.client_id == EARLIER_RELEASE_BODY["client_id"]
    assert loaded.location == LocationInput(latitude=21.6625, longitude=110.9331, accuracy=15.0, coord_type="gcj02")
    assert loaded.findings == {"safety": FindingInput(value="concern", note="屋顶漏水"),
                               "health": FindingInput(value="ok", note="")}
    assert loaded.photo_ids == (31, 32) and loaded.coworker_ids == (7,)


@pytest.mark.parametrize("shape", list(EARLIER_RELEASE_FINGERPRINTS))
def test_a_body_keeps_the_fingerprint_earlier_releases_stored(app, shape):
    body = EARLIER_RELEASE_BODY if shape == "full" else {
        key: EARLIER_RELEASE_BODY[key] for key in ("client_id", "kind", "started_at", "ended_at")}
    assert body_fingerprint(VisitCreateSchema().load(body)) == EARLIER_RELEASE_FINGERPRINTS[shape]


def _post_counted(client, count_queries, body, headers):
    # A server starts each request with an empty session; expiring everything comes closest.
    db.session.expire_all()
    with count_queries() as counter:
        response = client.post("/api/v1/visits", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json(), counter


def _checkin_without_photos(worker, home, kind):
    body = body_for(worker, home, [], kind=kind, location=_location(latitude=home.home_latitude,
                                                                     longitude=home.home_longitude))
    if kind == "care_call":
        del body["location"]
    if kind == "community_activity":
        body.update(beneficiary_id=None, people_count=12)
    return body


@pytest.mark.parametrize("kind", ["care_call", "case_service", "community_activity"])
def test_a_checkin_without_photos_takes_at_most_5_statements(client, worker, home, headers, count_queries, kind):
    answer, counter = _post_counted(client, count_queries, _checkin_without_photos(worker, home, kind), headers)
    assert answer["warnings"] == []
    assert counter.count <= 5, counter.statements
    # Answered from what was written, and exactly what is stored.
    assert client.get(f"/api/v1/visits/{answer['id']}", headers=headers).get_json() == answer


def test_a_checkin_with_photos_takes_at_most_7_statements(client, worker, home, headers, count_queries):
    photos = [make_photo(worker) for _ in range(3)]
    coworker = make_worker(worker.station)
    body = body_for(worker, home, photos, location=_location(latitude=home.home_latitude,
                                                             longitude=home.home_longitude),
                    findings={"safety": {"value": "concern", "note": "电线老化"}}, photo_consent=True)
    answer, counter = _post_counted(client, count_queries, body, headers)
    assert answer["warnings"] == [] and [photo["id"] for photo in answer["photos"]] == [photo.id for photo in photos]
    assert counter.count <= 7, counter.statements
    assert client.get(f"/api/v1/visits/{answer['id']}", headers=headers).get_json() == answer
    # Co-workers cost their look-up and their rows, nothing per person.
    body = body_for(worker, home, [make_photo(worker)], coworker_ids=[coworker.id, make_worker(worker.station).id],
                    location=_location(latitude=home.home_latitude, longitude=home.home_longitude))
    answer, counter = _post_counted(client, count_queries, body, headers)
    assert len(answer["coworkers"]) == 2 and counter.count <= 9, counter.statements


def test_warnings_cost_one_insert_however_many(client, worker, home, headers, count_queries, is_postgres):
    far = _location(latitude=home.home_latitude + 0.01, longitude=home.home_longitude, accuracy=150)
    body = body_for(worker, home, [], kind="case_service", location=far, mock_location=True)
    answer, counter = _post_counted(client, count_queries, body, headers)
    assert answer["warning_count"] == 3
    # Their rows in one INSERT (SQLite: one each, as SQLAlchemy cannot batch an INSERT there whose generated
    # ids it must match back to the rows); the queue's summary of them is written with the visit.
    warning_inserts = 1 if is_postgres else answer["warning_count"]
    # Plus SAVEPOINT and RELEASE: warnings are stored in a savepoint so that a refused one never costs the
    # worker the check-in (issue 10); a check-in without warnings opens none.
    assert counter.count <= 5 + warning_inserts + 2, counter.statements
    assert client.get(f"/api/v1/visits/{answer['id']}", headers=headers).get_json() == answer
