"""Due lists, overdue days and coverage, checked against the hand-computed city of report_fixture."""

from datetime import date

import pytest

from extensions import db
from services.reporting.coverage import (
    due_beneficiaries_query,
    due_statuses,
    due_statuses_of,
    most_overdue,
    registry_coverage,
    station_coverage,
    village_coverage,
)
from tests.services.reporting.report_fixture import NOW, beijing, build_city


@pytest.fixture
def city(app):
    return build_city()


def _due(user, **kwargs):
    return due_statuses(db.session.execute(due_beneficiaries_query(user, NOW, **kwargs)))


def test_worker_due_list_is_their_station_most_urgent_first_pending_last(city):
    statuses = _due(city.w_a)
    # p1 is due 10 July (not yet); p4 never visited (due since registration, 1 January); p2 due 8 June;
    # p3 due 14 June but a visit awaits review, so after the others.
    assert [s.beneficiary.id for s in statuses] == [city.p4.id, city.p2.id, city.p3.id]
    p4, p2, p3 = statuses
    assert (p4.next_due, p4.days_overdue, p4.last_approved_at, p4.interval_days) == (date(2024, 1, 1), 171, None, 91)
    assert (p2.next_due, p2.days_overdue, p2.interval_days, p2.pending_visits) == (date(2024, 6, 8), 12, 7, 0)
    assert p2.last_approved_at == beijing(6, 1, 0, 30)
    assert (p3.next_due, p3.days_overdue, p3.interval_days, p3.pending_visits) == (date(2024, 6, 14), 6, 30, 1)


def test_due_within_days_adds_people_due_soon(city):
    # p1 (tekun, 30 days) was last visited 10 June: due 10 July, 20 days ahead.
    assert city.p1.id not in [s.beneficiary.id for s in _due(city.w_a, within_days=19)]
    soon = {s.beneficiary.id: s for s in _due(city.w_a, within_days=20)}
    assert soon[city.p1.id].days_overdue == -20
    assert soon[city.p1.id].next_due == date(2024, 7, 10)


def test_only_approved_counting_visits_reset_the_schedule(city):
    statuses = {s.beneficiary.id: s for s in _due(city.admin)}
    # p7: rejected and returned home visits and an approved hardship assistance do not count; the
    # approved home visit of 1 March does: 1 March + 60 days = 30 April.
    assert statuses[city.p7.id].next_due == date(2024, 4, 30)
    assert statuses[city.p7.id].days_overdue == 51
    # p9 is only named on a community activity: never visited, due since registration.
    assert statuses[city.p9.id].next_due == date(2024, 1, 1)
    # The closed p5 is never due.
    assert city.p5.id not in statuses
    assert set(statuses) == {city.p2.id, city.p3.id, city.p4.id, city.p7.id, city.p9.id}


def test_due_list_by_distance_when_near_is_given(city):
    city.p2.home_latitude, city.p2.home_longitude = 21.70, 110.90
    city.p3.home_latitude, city.p3.home_longitude = 21.80, 110.90
    city.p4.home_latitude, city.p4.home_longitude = None, None
    db.session.commit()
    statuses = _due(city.w_a, near=(21.79, 110.90))
    assert [s.beneficiary.id for s in statuses] == [city.p3.id, city.p2.id, city.p4.id]


def test_supervisor_due_list_is_scoped_to_their_stations(city):
    assert [s.beneficiary.id for s in _due(city.supervisor_c)] == [city.p9.id]


def test_most_overdue_longest_first(city):
    overdue = most_overdue(city.admin, NOW, limit=4)
    assert [(s.beneficiary.id, s.days_overdue) for s in overdue] == [
        (city.p4.id, 171), (city.p9.id, 171), (city.p7.id, 51), (city.p2.id, 12)
    ]


def test_station_coverage_counts_people_visited_within_their_period(city):
    rows = {row.station_id: row for row in station_coverage(city.admin, NOW)}
    # A: only p1 of p1–p4; B: p6 (p7 overdue); C: p8 (1 April + 91 = 1 July), not p9.
    assert (rows[city.station_a.id].covered, rows[city.station_a.id].active) == (1, 4)
    assert (rows[city.station_b.id].covered, rows[city.station_b.id].active) == (1, 2)
    assert (rows[city.station_c.id].covered, rows[city.station_c.id].active) == (1, 2)
    assert rows[city.station_a.id].ratio == 0.25


def test_station_coverage_of_a_supervisor_lists_only_their_stations(city):
    assert [row.station_id for row in station_coverage(city.supervisor_c, NOW)] == [city.station_c.id]


def test_village_coverage(city):
    assert (village_coverage(city.admin).part, village_coverage(city.admin).whole) == (5, 7)
    assert (village_coverage(city.supervisor_c).part, village_coverage(city.supervisor_c).whole) == (2, 2)


def test_registry_coverage_counts_active_people_with_any_approved_visit(city):
    year = registry_coverage(city.admin, beijing(1, 1, 0), NOW)
    # Everyone active but p4 had an approved visit this year.
    assert (year.part, year.whole) == (7, 8)
    june = registry_coverage(city.admin, beijing(6, 1, 0), NOW)
    # June: p1, p2, p6, p7 (hardship assistance), p9 (named on an activity).
    assert (june.part, june.whole) == (5, 8)


def test_due_statuses_of_gives_every_listed_persons_schedule_due_or_not(city):
    people = [city.p1, city.p2, city.p3, city.p5, city.p8]
    statuses = due_statuses_of(people, NOW)
    # The closed p5 has no schedule.
    assert set(statuses) == {city.p1.id, city.p2.id, city.p3.id, city.p8.id}
    # p1 (tekun, 30): last approved 10 June, due 10 July — not due, so days_overdue is negative.
    p1 = statuses[city.p1.id]
    assert (p1.next_due, p1.days_overdue, p1.interval_days, p1.pending_review) == (date(2024, 7, 10), -20, 30, False)
    assert p1.last_approved_at == beijing(6, 10)
    # p8 (disabled, 91): 1 April + 91 = 1 July.
    assert (statuses[city.p8.id].next_due, statuses[city.p8.id].days_overdue) == (date(2024, 7, 1), -11)
    # The people who are due read the same as in the due list.
    due = {s.beneficiary.id: s for s in _due(city.w_a)}
    for person in (city.p2, city.p3):
        assert statuses[person.id] == due[person.id]
    assert statuses[city.p3.id].pending_review and not statuses[city.p2.id].pending_review


def test_due_statuses_of_nobody_runs_no_query(app, count_queries):
    with count_queries() as counter:
        assert due_statuses_of([], NOW) == {}
    assert counter.count == 0
