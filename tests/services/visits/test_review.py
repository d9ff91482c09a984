"""services.review: the review actions, bulk approval, the queue's SELECT, neighbours and map points."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from extensions import db
from models import AuditEvent, ReviewEvent, Visit, VisitWarning, utcnow
from services.errors import Conflict, Forbidden, Invalid, NotFound
from services.geo import to_gcj02
from services.visits.review import (
    QueueFilters,
    approve_visit,
    bulk_approve,
    map_points,
    reject_visit,
    reopen_visit,
    return_visit,
    review_queue_page,
    review_queue_query,
    review_record,
    visit_neighbours,
)
from tests.factories import (
    make_admin,
    make_beneficiary,
    make_reviewable_visit,
    make_station,
    make_supervisor,
    make_worker,
)


def events_of(visit) -> tuple[int, int]:
    reviews = db.session.scalar(select(func.count()).select_from(ReviewEvent).where(ReviewEvent.visit_id == visit.id))
    audits = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.object_type == "visits", AuditEvent.object_id == visit.id))
    return reviews, audits


@pytest.fixture
def station(app):
    return make_station()


@pytest.fixture
def worker(station):
    return make_worker(station)


@pytest.fixture
def supervisor(station):
    return make_supervisor(station)


def test_approve_records_the_reviewer_a_review_event_and_an_audit_event(supervisor, worker):
    visit = make_reviewable_visit(worker)
    approve_visit(supervisor, visit.id, "  ok  ")
    db.session.expire_all()
    visit = db.session.get(Visit, visit.id)
    assert (visit.status, visit.reviewer_id, visit.review_comment) == ("approved", supervisor.id, "ok")
    assert events_of(visit) == (1, 1)
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.object_id == visit.id))
    assert (audit.action, audit.actor_id) == ("visit_reviewed", supervisor.id)
    assert audit.details["review_action"] == "approve"


@pytest.mark.parametrize("act", [reject_visit, return_visit])
def test_reject_and_return_need_a_comment_and_change_nothing_without_one(supervisor, worker, act):
    visit = make_reviewable_visit(worker)
    with pytest.raises(Invalid):
        act(supervisor, visit.id, "   ")
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).status == "submitted"
    assert events_of(visit) == (0, 0)


def test_reject_and_return_move_the_visit_with_their_comment(supervisor, worker):
    rejected, returned = make_reviewable_visit(worker), make_reviewable_visit(worker)
    reject_visit(supervisor, rejected.id, "照片不是本人")
    return_visit(supervisor, returned.id, "请补拍门牌")
    db.session.expire_all()
    assert db.session.get(Visit, rejected.id).status == "rejected"
    assert db.session.get(Visit, returned.id).review_comment == "请补拍门牌"


def test_another_stations_visit_is_not_found(worker):
    other_supervisor = make_supervisor(make_station())
    visit = make_reviewable_visit(worker)
    with pytest.raises(NotFound):
        approve_visit(other_supervisor, visit.id)
    with pytest.raises(NotFound):
        review_record(other_supervisor, visit.id)


def test_nobody_reviews_their_own_visit(station, supervisor):
    own = make_reviewable_visit(supervisor, station_id=station.id)
    with pytest.raises(Forbidden):
        approve_visit(supervisor, own.id)
    admin = make_admin()
    admin_own = make_reviewable_visit(admin, station_id=station.id)
    with pytest.raises(Forbidden):
        approve_visit(admin, admin_own.id)
    assert events_of(own) == (0, 0)


def test_reopen_needs_a_decided_visit_and_a_reason(supervisor, worker):
    visit = make_reviewable_visit(worker)
    with pytest.raises(Conflict):
        reopen_visit(supervisor, visit.id, "复核")
    approve_visit(supervisor, visit.id)
    with pytest.raises(Invalid):
        reopen_visit(supervisor, visit.id, "")
    reopen_visit(make_admin(), visit.id, "群众反映未上门")
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).status == "submitted"
    assert events_of(visit) == (2, 2)


def test_approving_twice_is_a_conflict_and_logs_once(supervisor, worker):
    visit = make_reviewable_visit(worker)
    approve_visit(supervisor, visit.id)
    with pytest.raises(Conflict):
        approve_visit(make_admin(), visit.id)
    assert events_of(visit) == (1, 1)


def test_bulk_approve_approves_only_clean_submitted_visits_in_scope(station, supervisor, worker):
    clean = [make_reviewable_visit(worker) for _ in range(3)]
    warned = [make_reviewable_visit(worker, warnings=[code]) for code in ("too_short", "far_from_home")]
    returned = make_reviewable_visit(worker, status="returned")
    elsewhere = make_reviewable_visit(make_worker(make_station()))
    own = make_reviewable_visit(supervisor, station_id=station.id)
    ids = [visit.id for visit in clean + warned + [returned, elsewhere, own]] + [999_999]

    report = bulk_approve(supervisor, ids)

    assert sorted(report.approved) == sorted(visit.id for visit in clean)
    assert report.skipped == {"has_warnings": 2, "not_submitted": 1, "not_found": 2, "own_visit": 1}
    assert report.skipped_total == 6
    db.session.expire_all()
    assert [db.session.get(Visit, visit.id).status for visit in warned] == ["submitted", "submitted"]
    assert db.session.get(Visit, elsewhere.id).status == "submitted"
    assert db.session.scalar(select(func.count()).select_from(ReviewEvent)) == 3


def test_bulk_approve_refuses_an_oversized_selection(supervisor):
    with pytest.raises(Invalid):
        bulk_approve(supervisor, list(range(1, 502)))


def _queue_ids(user, **filters) -> list[int]:
    return list(db.session.scalars(review_queue_query(user, QueueFilters(**filters)).with_only_columns(Visit.id)))


def test_queue_puts_warned_first_by_severity_then_count_then_oldest(supervisor, worker):
    now = utcnow()
    old_clean = make_reviewable_visit(worker, received_at=now - timedelta(hours=5))
    new_clean = make_reviewable_visit(worker, received_at=now - timedelta(hours=1))
    one_minor = make_reviewable_visit(worker, warnings=["too_short"], received_at=now - timedelta(hours=9))
    two_minor = make_reviewable_visit(worker, warnings=["too_short", "poor_accuracy"],
                                      received_at=now - timedelta(hours=2))
    severe = make_reviewable_visit(worker, warnings=["far_from_home"], received_at=now - timedelta(hours=1))
    make_reviewable_visit(worker, status="approved")
    assert _queue_ids(supervisor) == [severe.id, two_minor.id, one_minor.id, old_clean.id, new_clean.id]


def test_queue_is_scoped_to_the_supervisors_stations(worker, supervisor):
    mine = make_reviewable_visit(worker)
    other_station = make_station()
    theirs = make_reviewable_visit(make_worker(other_station))
    assert _queue_ids(supervisor) == [mine.id]
    assert _queue_ids(make_supervisor(other_station)) == [theirs.id]
    assert sorted(_queue_ids(make_admin())) == sorted([mine.id, theirs.id])
    assert _queue_ids(supervisor, station_id=other_station.id) == []


def test_queue_filters(station, supervisor, worker):
    second_worker = make_worker(station)
    zhang = make_beneficiary(station, name="张小明", name_initials="zxm")
    wang = make_beneficiary(station, name="王芳", name_initials="wf")
    reused = make_reviewable_visit(worker, zhang, warnings=["photo_reused", "too_short"])
    short = make_reviewable_visit(second_worker, wang, warnings=["too_short"], kind="case_service")
    clean = make_reviewable_visit(worker, wang)
    approved = make_reviewable_visit(worker, zhang, status="approved")

    assert _queue_ids(supervisor, warning_code="photo_reused") == [reused.id]
    assert sorted(_queue_ids(supervisor, warning_code="too_short")) == sorted([reused.id, short.id])
    assert _queue_ids(supervisor, has_warnings=False) == [clean.id]
    assert sorted(_queue_ids(supervisor, has_warnings=True)) == sorted([reused.id, short.id])
    assert _queue_ids(supervisor, worker_id=second_worker.id) == [short.id]
    assert _queue_ids(supervisor, kind="case_service") == [short.id]
    assert _queue_ids(supervisor, beneficiary_name="小明") == [reused.id]
    assert _queue_ids(supervisor, beneficiary_name="ZX") == [reused.id]
    assert _queue_ids(supervisor, beneficiary_name="%") == []
    assert _queue_ids(supervisor, status="approved") == [approved.id]
    assert sorted(_queue_ids(supervisor, status=None)) == sorted([reused.id, short.id, clean.id, approved.id])


def test_queue_date_range_counts_whole_days_in_shanghai(supervisor, worker):
    # 2024-05-01 17:30 UTC is 2024-05-02 01:30 in Shanghai; 15:30 UTC is still 23:30 on 05-01.
    late = make_reviewable_visit(worker, received_at=datetime(2024, 5, 1, 17, 30, tzinfo=UTC))
    evening = make_reviewable_visit(worker, received_at=datetime(2024, 5, 1, 15, 30, tzinfo=UTC))
    assert _queue_ids(supervisor, received_from=date(2024, 5, 2), received_to=date(2024, 5, 2)) == [late.id]
    assert _queue_ids(supervisor, received_to=date(2024, 5, 1)) == [evening.id]
    assert _queue_ids(supervisor, received_from=date(2024, 5, 3)) == []


def test_neighbours_are_the_same_workers_previous_and_next_visits(worker, supervisor):
    base = utcnow() - timedelta(days=2)
    first = make_reviewable_visit(worker, started_at=base)
    middle = make_reviewable_visit(worker, started_at=base + timedelta(hours=3))
    make_reviewable_visit(make_worker(worker.station), started_at=base + timedelta(hours=4))
    last = make_reviewable_visit(worker, started_at=base + timedelta(hours=5))
    assert visit_neighbours(middle) == (first, last)
    assert visit_neighbours(first, supervisor) == (None, middle)
    assert visit_neighbours(last, make_supervisor(make_station())) == (None, None)


def test_map_points_follow_the_tiles_coordinate_system(app, worker):
    visit = make_reviewable_visit(worker, make_beneficiary(worker.station, home_latitude=21.67, home_longitude=110.93))
    app.config["MAP_TILE_COORD_TYPE"] = "wgs84"
    plain = {point.kind: point for point in map_points(visit)}
    assert (plain["checkin"].lat, plain["checkin"].lon, plain["checkin"].radius_m) == (21.665, 110.928, 15)
    app.config["MAP_TILE_COORD_TYPE"] = "gcj02"
    shifted = {point.kind: point for point in map_points(visit)}
    assert (shifted["home"].lat, shifted["home"].lon) == pytest.approx(to_gcj02(21.67, 110.93))
    assert (shifted["home"].lat, shifted["home"].lon) != (21.67, 110.93)


def test_warning_links_show_only_visits_the_viewer_may_open(worker, supervisor):
    mine = make_reviewable_visit(worker)
    theirs = make_reviewable_visit(make_worker(make_station()))
    visit = make_reviewable_visit(worker)
    warning = VisitWarning(code="photo_reused", severity=3, message="reused",
                           evidence={"other_visit_ids": [mine.id, theirs.id], "matches": []})
    visit.warnings.append(warning)
    db.session.commit()
    assert review_record(supervisor, visit.id).warning_links == {warning.id: [mine.id]}
    assert review_record(make_admin(), visit.id).warning_links == {warning.id: [mine.id, theirs.id]}


def test_queue_pages_by_keyset_forwards_and_backwards_in_the_queues_order(supervisor, worker):
    now = utcnow()
    codes = [(), ("too_short",), ("far_from_home",), ("too_short", "poor_accuracy")]
    same_moment = now - timedelta(hours=3)
    for number in range(23):
        # Ties on severity, count and received time are broken by id, so no visit is lost between pages.
        received = same_moment if number % 3 == 0 else now - timedelta(minutes=number * 7)
        make_reviewable_visit(worker, warnings=codes[number % 4], received_at=received)
    make_reviewable_visit(worker, status="approved")
    expected = _queue_ids(supervisor)
    assert len(expected) == 23

    pages, page = [], review_queue_page(supervisor, QueueFilters(), page_size=5)
    while True:
        pages.append(page)
        if page.next_cursor is None:
            break
        page = review_queue_page(supervisor, QueueFilters(), after=page.next_cursor, page_size=5)
    assert [visit.id for page in pages for visit in page.items] == expected
    assert [page.page for page in pages] == [1, 2, 3, 4, 5]
    assert [len(page.items) for page in pages] == [5, 5, 5, 5, 3]
    assert pages[0].previous_cursor is None and all(page.total == 23 for page in pages)

    back = review_queue_page(supervisor, QueueFilters(), before=pages[-1].previous_cursor, page_size=5)
    assert [visit.id for visit in back.items] == [visit.id for visit in pages[3].items]
    assert back.page == 4 and back.next_cursor is not None
    first = review_queue_page(supervisor, QueueFilters(), before=pages[1].previous_cursor, page_size=5)
    assert [visit.id for visit in first.items] == expected[:5]
    assert first.page == 1 and first.previous_cursor is None


def test_queue_counts_up_to_a_limit_and_refuses_a_damaged_cursor(supervisor, worker, monkeypatch):
    monkeypatch.setattr("services.visits.review.QUEUE_COUNT_LIMIT", 3)
    for _ in range(5):
        make_reviewable_visit(worker)
    page = review_queue_page(supervisor, QueueFilters(), page_size=2)
    assert (page.total, page.total_is_lower_bound, page.pages) == (3, True, 2)
    with pytest.raises(Invalid):
        review_queue_page(supervisor, QueueFilters(), after=page.next_cursor[:-3] + "xyz")
