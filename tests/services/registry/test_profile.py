"""A person's page data: schedule, visit history latest first and paged, scoped, in a constant number of queries."""

from datetime import timedelta

import pytest

from models import utcnow
from services.errors import Invalid, NotFound
from services.registry.profile import beneficiary_profile
from services.reporting.schedules import local_date
from tests.factories import (
    make_admin,
    make_beneficiary,
    make_reviewable_visit,
    make_station,
    make_supervisor,
    make_worker,
)


@pytest.fixture
def scene(app):
    station = make_station()
    worker = make_worker(station, display_name="陈社工")
    person = make_beneficiary(station, name="张档案", categories=["tekun"])
    return {"station": station, "worker": worker, "person": person, "supervisor": make_supervisor(station)}


def _visits(worker, person, count: int, *, status="approved", first_days_ago: int = 100):
    """`count` visits, one a day from `first_days_ago` days ago on, oldest first."""
    return [make_reviewable_visit(worker, person, status=status,
                                  started_at=utcnow() - timedelta(days=first_days_ago - index))
            for index in range(count)]


def test_the_schedule_reads_the_last_approved_visit_and_the_next_due_date(scene):
    approved = make_reviewable_visit(scene["worker"], scene["person"], status="approved",
                                     started_at=utcnow() - timedelta(days=10))
    make_reviewable_visit(scene["worker"], scene["person"], warnings=["too_short"],
                          started_at=utcnow() - timedelta(hours=3))
    profile = beneficiary_profile(scene["supervisor"], scene["person"].id)
    schedule = profile.schedule
    assert schedule.interval_days == 30  # 特困: monthly
    assert schedule.last_approved_at == approved.started_at
    assert schedule.next_due == local_date(approved.started_at) + timedelta(days=30)
    assert schedule.days_overdue == (local_date(utcnow()) - schedule.next_due).days < 0
    assert schedule.pending_visits == 1


def test_a_person_never_visited_is_due_and_a_closed_file_has_no_schedule(scene):
    assert beneficiary_profile(scene["supervisor"], scene["person"].id).schedule.last_approved_at is None
    closed = make_beneficiary(scene["station"], status="closed")
    profile = beneficiary_profile(scene["supervisor"], closed.id)
    assert profile.schedule is None and profile.visits == [] and profile.visit_total == 0


def test_the_history_is_latest_first_with_worker_status_kind_and_warning_count(scene):
    older, newer = _visits(scene["worker"], scene["person"], 2)
    warned = make_reviewable_visit(scene["worker"], scene["person"], warnings=["far_from_home", "poor_accuracy"],
                                   kind="care_call", started_at=utcnow() - timedelta(days=1))
    make_reviewable_visit(scene["worker"], make_beneficiary(scene["station"]))  # someone else's
    profile = beneficiary_profile(scene["supervisor"], scene["person"].id)
    assert [visit.id for visit in profile.visits] == [warned.id, newer.id, older.id]
    first = profile.visits[0]
    assert (first.kind, first.status, first.worker_name, first.warning_count) == ("care_call", "submitted", "陈社工", 2)
    assert profile.visit_total == 3 and profile.older_cursor is None and profile.latest_page


def test_the_history_pages_by_cursor_without_gaps_or_repeats(scene):
    visits = _visits(scene["worker"], scene["person"], 7)
    # Two visits starting at the same moment are told apart by id.
    twin = make_reviewable_visit(scene["worker"], scene["person"], status="approved", started_at=visits[3].started_at)
    expected = sorted([*visits, twin], key=lambda visit: (visit.started_at, visit.id), reverse=True)
    seen, cursor = [], None
    while True:
        profile = beneficiary_profile(scene["supervisor"], scene["person"].id, cursor=cursor, limit=3)
        assert profile.visit_total == 8 and profile.latest_page == (cursor is None)
        seen += [visit.id for visit in profile.visits]
        cursor = profile.older_cursor
        if cursor is None:
            break
    assert seen == [visit.id for visit in expected]


def test_a_forged_cursor_is_refused(scene):
    with pytest.raises(Invalid) as refused:
        beneficiary_profile(scene["supervisor"], scene["person"].id, cursor="not-a-cursor")
    assert refused.value.code == "invalid_cursor"


def test_a_person_outside_the_users_stations_is_not_found(scene):
    with pytest.raises(NotFound):
        beneficiary_profile(make_supervisor(make_station()), scene["person"].id)
    with pytest.raises(NotFound):
        beneficiary_profile(scene["supervisor"], 10**9)


def test_a_supervisor_sees_only_the_visits_of_their_stations(scene):
    """A person who moved stations: the visits recorded under the old station stay its supervisors'."""
    old_station = make_station()
    old_visit = make_reviewable_visit(make_worker(old_station), scene["person"], status="approved",
                                      started_at=utcnow() - timedelta(days=200))
    new_visit = make_reviewable_visit(scene["worker"], scene["person"])
    assert [visit.id for visit in beneficiary_profile(scene["supervisor"], scene["person"].id).visits] == [new_visit.id]
    assert [visit.id for visit in beneficiary_profile(make_admin(), scene["person"].id).visits] \
        == [new_visit.id, old_visit.id]


def test_the_query_count_does_not_grow_with_the_visits(scene, count_queries):
    few = make_beneficiary(scene["station"], categories=["dibao", "tekun"])
    _visits(scene["worker"], few, 1)
    _visits(scene["worker"], scene["person"], 30)
    supervisor, person_ids = scene["supervisor"], [few.id, scene["person"].id]
    assert supervisor.role == "supervisor"  # loaded before counting, as the request's user is
    counts = []
    for person_id in person_ids:
        with count_queries() as counter:
            profile = beneficiary_profile(supervisor, person_id)
            # What the page reads from the person must already be loaded.
            _ = (profile.beneficiary.station.name, profile.beneficiary.categories,
                 profile.beneficiary.service_point)
        counts.append(counter.count)
    assert counts == [5, 5]
