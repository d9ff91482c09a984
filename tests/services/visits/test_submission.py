"""services.visits: validation, idempotent submission, resubmission, keyset listing, scoping."""

from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Photo, ReviewEvent, Visit, utcnow
from services.errors import Conflict, Forbidden, Invalid, NotFound
from services.geo import distance_m, to_wgs84
from services.visits import workflow
from services.visits.inputs import FindingInput, LocationInput
from services.visits.submission import get_visit, list_visits_for_worker, resubmit_visit, submit_visit
from tests.factories import (
    make_beneficiary,
    make_photo,
    make_service_point,
    make_station,
    make_supervisor,
    make_visit,
    make_worker,
    visit_body,
)

# Roughly one metre of latitude in degrees, for placing points at known distances.
DEGREE_PER_METRE = 1 / 111_195


def visit_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Visit))


def return_visit(visit: Visit, comment: str = "请补充厨房照片") -> Visit:
    supervisor = make_supervisor(visit.station)
    workflow.transition(visit, "return", supervisor, comment)
    db.session.commit()
    return visit


# --- submission ---------------------------------------------------------------------------------

def test_submit_stores_what_was_sent_and_wgs84(app):
    station = make_station()
    point = make_service_point(station)
    worker = make_worker(station)
    beneficiary = make_beneficiary(station, service_point=point, home_latitude=31.1774276, home_longitude=121.5272106)
    photos = [make_photo(worker), make_photo(worker)]
    received_at = utcnow()
    # The GCJ-02 value of the beneficiary's home (eviltransform's Shanghai pair).
    body = visit_body(worker, beneficiary, photo_ids=[photos[1].id, photos[0].id],
                      location=LocationInput(latitude=31.17530398364597, longitude=121.531541859215,
                                             accuracy=12.0, coord_type="gcj02"))

    visit, created = submit_visit(worker, body, received_at=received_at)

    assert created is True
    assert (visit.sent_latitude, visit.sent_longitude, visit.coord_type) == (31.17530398364597, 121.531541859215,
                                                                            "gcj02")
    assert (visit.latitude, visit.longitude) == pytest.approx(to_wgs84(31.17530398364597, 121.531541859215, "gcj02"))
    # Computed on WGS-84: the home is where the converted point is, not 475 m away.
    assert visit.distance_from_home_m < 1
    assert visit.station_id == station.id and visit.service_point_id == point.id
    assert visit.received_at == received_at and visit.status == "submitted" and visit.revision == 1
    assert [photo.id for photo in visit.photos] == [photos[1].id, photos[0].id]
    assert [photo.position for photo in visit.photos] == [0, 1]
    events = db.session.scalars(select(ReviewEvent).where(ReviewEvent.visit_id == visit.id)).all()
    assert [(event.action, event.to_status, event.actor_id) for event in events] == [("submit", "submitted",
                                                                                     worker.id)]
    assert visit.warning_count == 0 and visit.warnings == []


def test_activity_without_beneficiary_belongs_to_the_workers_station(app):
    worker = make_worker()
    visit = make_visit(worker, kind="community_activity", beneficiary_id=None, people_count=35)
    assert visit.beneficiary_id is None and visit.station_id == worker.station_id
    assert visit.distance_from_home_m is None and visit.people_count == 35


def test_care_call_has_no_location_and_no_photo(app):
    worker = make_worker()
    visit = make_visit(worker, kind="care_call")
    assert visit.latitude is None and visit.photos == [] and visit.coord_type is None


def test_same_body_again_returns_the_same_visit(app):
    worker = make_worker()
    body = visit_body(worker, client_sent_at=utcnow())
    first, created = submit_visit(worker, body)
    # A retry carries a new send time; it is still the same check-in.
    second, created_again = submit_visit(worker, replace(body, client_sent_at=utcnow() + timedelta(seconds=30)))
    assert created and not created_again
    assert first.id == second.id and visit_count() == 1


def test_same_instant_in_another_offset_is_the_same_body(app):
    worker = make_worker()
    body = visit_body(worker)
    first, _ = submit_visit(worker, body)
    shifted = replace(body, started_at=body.started_at.astimezone(ZoneInfo("Asia/Shanghai")))
    second, created = submit_visit(worker, shifted)
    assert not created and second.id == first.id


def test_other_body_under_the_same_client_id_is_a_conflict(app):
    worker = make_worker()
    body = visit_body(worker)
    submit_visit(worker, body)
    with pytest.raises(Conflict) as raised:
        submit_visit(worker, replace(body, notes="改过的"))
    assert raised.value.code == "client_id_conflict"
    assert visit_count() == 1


def test_a_client_id_is_per_worker(app):
    first_worker, second_worker = make_worker(), make_worker()
    body = visit_body(first_worker)
    submit_visit(first_worker, body)
    other = visit_body(second_worker, client_id=body.client_id)
    _, created = submit_visit(second_worker, other)
    assert created and visit_count() == 2


def test_a_replay_is_answered_even_after_the_age_window(app):
    worker = make_worker()
    long_ago = utcnow() - timedelta(days=10)
    body = visit_body(worker, started_at=long_ago - timedelta(hours=1))
    stored, _ = submit_visit(worker, body, received_at=long_ago)
    replayed, created = submit_visit(worker, body)
    assert not created and replayed.id == stored.id


def test_only_workers_submit(app):
    station = make_station()
    supervisor = make_supervisor(station)
    body = visit_body(make_worker(station))
    with pytest.raises(Forbidden):
        submit_visit(supervisor, body)
    assert visit_count() == 0


def _invalid_cases():
    """(description, overrides builder(worker, beneficiary) -> dict, field that must carry the error)."""
    now = utcnow

    def other_station_beneficiary(worker, _):
        return {"beneficiary_id": make_beneficiary(make_station()).id}

    def closed_beneficiary(worker, _):
        return {"beneficiary_id": make_beneficiary(worker.station, status="closed").id}

    def other_workers_photo(worker, _):
        return {"photo_ids": [make_photo(make_worker(worker.station)).id]}

    def photo_of_another_visit(worker, _):
        taken = make_visit(worker)
        return {"photo_ids": [taken.photos[0].id]}

    def ten_photos(worker, _):
        return {"photo_ids": [make_photo(worker).id for _ in range(10)]}

    def repeated_photo(worker, _):
        photo = make_photo(worker)
        return {"photo_ids": [photo.id, photo.id]}

    def other_station_coworker(worker, _):
        return {"coworker_ids": [make_worker(make_station()).id]}

    def inactive_coworker(worker, _):
        return {"coworker_ids": [make_worker(worker.station, active=False).id]}

    def supervisor_as_coworker(worker, _):
        return {"coworker_ids": [make_supervisor(worker.station).id]}

    def self_as_coworker(worker, _):
        return {"coworker_ids": [worker.id]}

    def location(**changes):
        def build(worker, beneficiary):
            base = {"latitude": beneficiary.home_latitude, "longitude": beneficiary.home_longitude,
                    "accuracy": 10.0, "coord_type": "wgs84"}
            return {"location": LocationInput(**{**base, **changes})}
        return build

    return [
        ("unknown kind", lambda w, b: {"kind": "party"}, "kind"),
        ("unknown service", lambda w, b: {"services": ["magic"]}, "services"),
        ("repeated service", lambda w, b: {"services": ["resource_linking", "resource_linking"]}, "services"),
        ("unknown domain", lambda w, b: {"domains": ["sports"]}, "domains"),
        ("unknown need", lambda w, b: {"needs": ["money"]}, "needs"),
        ("unknown finding area", lambda w, b: {"findings": {"weather": FindingInput(value="ok")}}, "findings.weather"),
        ("unknown finding value", lambda w, b: {"findings": {"safety": FindingInput(value="bad")}},
         "findings.safety.value"),
        ("long finding note", lambda w, b: {"findings": {"safety": FindingInput(value="ok", note="x" * 501)}},
         "findings.safety.note"),
        ("ends before it starts", lambda w, b: {"started_at": now() - timedelta(minutes=10),
                                                "ended_at": now() - timedelta(minutes=20)}, "ended_at"),
        ("in the future", lambda w, b: {"started_at": now(), "ended_at": now() + timedelta(minutes=6)}, "ended_at"),
        ("older than the window", lambda w, b: {"started_at": now() - timedelta(days=7, minutes=1)}, "started_at"),
        ("latitude 91", location(latitude=91.0), "location.latitude"),
        ("longitude -181", location(longitude=-181.0), "location.longitude"),
        ("negative accuracy", location(accuracy=-1.0), "location.accuracy"),
        ("unknown coordinate system", location(coord_type="bd09"), "location.coord_type"),
        ("home visit without location", lambda w, b: {"location": None}, "location"),
        ("care call with a location", lambda w, b: {"kind": "care_call", "photo_ids": [], "location": LocationInput(
            latitude=21.665, longitude=110.928, accuracy=10.0, coord_type="wgs84")}, "location"),
        ("care call with photos", lambda w, b: {"kind": "care_call", "location": None,
                                                "photo_ids": [make_photo(w).id]}, "photo_ids"),
        ("home visit without beneficiary", lambda w, b: {"beneficiary_id": None}, "beneficiary_id"),
        ("unknown beneficiary", lambda w, b: {"beneficiary_id": 999_999}, "beneficiary_id"),
        ("other station's beneficiary", other_station_beneficiary, "beneficiary_id"),
        ("closed beneficiary", closed_beneficiary, "beneficiary_id"),
        ("home visit without photo", lambda w, b: {"photo_ids": []}, "photo_ids"),
        ("unknown photo", lambda w, b: {"photo_ids": [999_999]}, "photo_ids"),
        ("another worker's photo", other_workers_photo, "photo_ids"),
        ("photo of another visit", photo_of_another_visit, "photo_ids"),
        ("ten photos", ten_photos, "photo_ids"),
        ("repeated photo", repeated_photo, "photo_ids"),
        ("coworker of another station", other_station_coworker, "coworker_ids"),
        ("inactive coworker", inactive_coworker, "coworker_ids"),
        ("supervisor as coworker", supervisor_as_coworker, "coworker_ids"),
        ("self as coworker", self_as_coworker, "coworker_ids"),
        ("notes too long", lambda w, b: {"notes": "字" * 2001}, "notes"),
        ("no people", lambda w, b: {"people_count": 0}, "people_count"),
    ]


@pytest.mark.parametrize(("build", "field"), [case[1:] for case in _invalid_cases()],
                         ids=[case[0] for case in _invalid_cases()])
def test_invalid_submission_is_refused_and_stores_nothing(app, build, field):
    worker = make_worker()
    beneficiary = make_beneficiary(worker.station)
    overrides = build(worker, beneficiary)
    visits_before = visit_count()
    body = visit_body(worker, beneficiary, **overrides)
    attachments_before = _attachments(body.photo_ids)
    with pytest.raises(Invalid) as raised:
        submit_visit(worker, body)
    assert field in raised.value.fields, raised.value.fields
    assert visit_count() == visits_before
    db.session.expire_all()
    assert _attachments(body.photo_ids) == attachments_before


def _attachments(photo_ids) -> dict:
    return dict(db.session.execute(select(Photo.id, Photo.visit_id).where(Photo.id.in_(photo_ids))).all())


def test_all_field_errors_are_reported_together(app):
    worker = make_worker()
    body = visit_body(worker, photo_ids=[], notes="x" * 3000, beneficiary_id=999_999)
    with pytest.raises(Invalid) as raised:
        submit_visit(worker, body)
    assert {"photo_ids", "notes", "beneficiary_id"} <= set(raised.value.fields)


def test_the_window_limits_follow_config(app):
    app.config["VISIT_MAX_AGE"] = timedelta(days=30)
    worker = make_worker()
    visit = make_visit(worker, started_at=utcnow() - timedelta(days=20))
    assert visit.id is not None


# --- resubmission -------------------------------------------------------------------------------

def test_resubmit_a_returned_visit(app):
    worker = make_worker()
    beneficiary = make_beneficiary(worker.station)
    far_away = LocationInput(latitude=beneficiary.home_latitude + 1000 * DEGREE_PER_METRE,
                             longitude=beneficiary.home_longitude, accuracy=10.0, coord_type="wgs84")
    visit = make_visit(worker, beneficiary, location=far_away)
    assert [warning.code for warning in visit.warnings] == ["far_from_home"]
    old_photo = visit.photos[0]
    return_visit(visit)
    new_photo = make_photo(worker)

    body = visit_body(worker, beneficiary, photo_ids=[new_photo.id], notes="已补充")
    resubmitted = resubmit_visit(worker, visit.id, body)

    assert resubmitted.status == "submitted" and resubmitted.revision == 2
    assert resubmitted.notes == "已补充"
    assert resubmitted.warnings == [] and resubmitted.warning_count == 0 and resubmitted.warning_severity == 0
    assert [photo.id for photo in resubmitted.photos] == [new_photo.id]
    assert db.session.get(Photo, old_photo.id).visit_id is None
    events = db.session.scalars(select(ReviewEvent).where(ReviewEvent.visit_id == visit.id)
                                .order_by(ReviewEvent.id)).all()
    assert [(event.action, event.revision) for event in events] == [("submit", 1), ("return", 1), ("resubmit", 2)]
    assert visit_count() == 1


def test_resubmit_may_keep_the_visits_own_photos(app):
    worker = make_worker()
    visit = make_visit(worker)
    kept = visit.photos[0].id
    return_visit(visit)
    resubmitted = resubmit_visit(worker, visit.id, visit_body(worker, visit.beneficiary, photo_ids=[kept]))
    assert [photo.id for photo in resubmitted.photos] == [kept]


def test_resubmit_after_a_long_review_measures_age_from_the_first_receipt(app):
    worker = make_worker()
    long_ago = utcnow() - timedelta(days=10)
    started_at = long_ago - timedelta(hours=1)
    visit = make_visit(worker, started_at=started_at, received_at=long_ago)
    return_visit(visit)
    body = visit_body(worker, visit.beneficiary, started_at=started_at, photo_ids=[visit.photos[0].id])
    assert resubmit_visit(worker, visit.id, body).revision == 2


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_resubmit_is_only_for_returned_visits(app, action):
    worker = make_worker()
    visit = make_visit(worker)
    workflow.transition(visit, action, make_supervisor(visit.station), "不符合")
    db.session.commit()
    with pytest.raises(Conflict) as raised:
        resubmit_visit(worker, visit.id, visit_body(worker, visit.beneficiary))
    assert raised.value.code == "invalid_transition"
    assert db.session.get(Visit, visit.id).revision == 1


def test_resubmit_of_a_submitted_visit_is_a_conflict(app):
    worker = make_worker()
    visit = make_visit(worker)
    with pytest.raises(Conflict):
        resubmit_visit(worker, visit.id, visit_body(worker, visit.beneficiary))


def test_only_the_owner_resubmits(app):
    worker = make_worker()
    visit = return_visit(make_visit(worker))
    colleague = make_worker(worker.station)
    supervisor = make_supervisor(worker.station)
    for other in (colleague, supervisor):
        with pytest.raises(NotFound):
            resubmit_visit(other, visit.id, visit_body(worker, visit.beneficiary))
    assert db.session.get(Visit, visit.id).status == "returned"


def test_invalid_resubmission_changes_nothing(app):
    worker = make_worker()
    visit = return_visit(make_visit(worker))
    photo_id = visit.photos[0].id
    with pytest.raises(Invalid):
        resubmit_visit(worker, visit.id, visit_body(worker, visit.beneficiary, photo_ids=[], notes="新"))
    db.session.expire_all()
    stored = db.session.get(Visit, visit.id)
    assert stored.status == "returned" and stored.notes == "" and [photo.id for photo in stored.photos] == [photo_id]


# --- reading ------------------------------------------------------------------------------------

def test_get_visit_is_scoped(app):
    worker = make_worker()
    visit = make_visit(worker)
    assert get_visit(worker, visit.id).id == visit.id
    assert get_visit(make_supervisor(worker.station), visit.id).id == visit.id
    with pytest.raises(NotFound):
        get_visit(make_worker(worker.station), visit.id)
    with pytest.raises(NotFound):
        get_visit(make_supervisor(make_station()), visit.id)


def _make_visits(worker, count, received_at=None):
    return [make_visit(worker, received_at=received_at) for _ in range(count)]


def test_list_pages_newest_first_with_ties_broken_by_id(app):
    worker = make_worker()
    same_moment = utcnow()
    visits = _make_visits(worker, 3, received_at=same_moment) + _make_visits(worker, 2)
    make_visit(make_worker(worker.station))  # someone else's: never listed

    seen, cursor = [], None
    while True:
        page, cursor = list_visits_for_worker(worker, cursor=cursor, limit=2)
        seen.extend(visit.id for visit in page)
        if cursor is None:
            break
    expected = sorted(visits, key=lambda visit: (visit.received_at, visit.id), reverse=True)
    assert seen == [visit.id for visit in expected]


def test_list_filters_by_status_and_updated_since(app):
    worker = make_worker()
    returned = return_visit(make_visit(worker))
    make_visit(worker)
    page, cursor = list_visits_for_worker(worker, status="returned")
    assert [visit.id for visit in page] == [returned.id] and cursor is None
    later = utcnow() + timedelta(seconds=1)
    assert list_visits_for_worker(worker, updated_since=later) == ([], None)
    assert len(list_visits_for_worker(worker, updated_since=returned.received_at)[0]) == 2


@pytest.mark.parametrize("cursor", ["%%%", "bm90IGpzb24", "WzEsMl0", "WyIyMDI0LTAxLTAxVDAwOjAwOjAwIiwxXQ"])
def test_a_malformed_cursor_is_a_field_error(app, cursor):
    with pytest.raises(Invalid) as raised:
        list_visits_for_worker(make_worker(), cursor=cursor)
    assert "cursor" in raised.value.fields and raised.value.code == "invalid_cursor"


def test_an_unknown_status_is_a_field_error(app):
    with pytest.raises(Invalid) as raised:
        list_visits_for_worker(make_worker(), status="lost")
    assert "status" in raised.value.fields


def test_listing_uses_the_same_number_of_queries_for_1_and_20_visits(app, count_queries):
    few, many = make_worker(), make_worker()
    _make_visits(few, 1)
    for visit in _make_visits(many, 20)[:5]:
        return_visit(visit)
    counts = []
    for worker in (few, many):
        db.session.expire_all()
        with count_queries() as counter:
            page, _ = list_visits_for_worker(worker)
            for visit in page:
                (visit.beneficiary.name, [photo.sha256 for photo in visit.photos],
                 [warning.code for warning in visit.warnings], visit.reviewer and visit.reviewer.name,
                 [coworker.id for coworker in visit.coworkers])
        counts.append(counter.count)
    assert counts[0] == counts[1]


def test_distance_is_measured_from_the_registered_home(app):
    worker = make_worker()
    beneficiary = make_beneficiary(worker.station)
    latitude = beneficiary.home_latitude + 500 * DEGREE_PER_METRE
    visit = make_visit(worker, beneficiary, location=LocationInput(latitude=latitude,
                                                                   longitude=beneficiary.home_longitude,
                                                                   accuracy=5.0, coord_type="wgs84"))
    expected = distance_m(latitude, beneficiary.home_longitude, beneficiary.home_latitude, beneficiary.home_longitude)
    assert visit.distance_from_home_m == pytest.approx(expected)
    assert 499 < visit.distance_from_home_m < 501
