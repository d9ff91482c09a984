"""The dashboard on the hand-computed city of report_fixture, "now" being Thursday 2024-06-20 10:00 Beijing."""

from datetime import date, timedelta

import pytest

from extensions import db
from services.errors import NotFound
from services.reporting.dashboard import build_dashboard, station_schedule, working_days_between
from tests.factories import make_beneficiary
from tests.services.reporting.report_fixture import NOW, add_visit, beijing, build_city


@pytest.fixture
def city(app):
    return build_city()


def _periods(dashboard) -> dict:
    return {p.key: (p.submitted, p.approved, p.pending, p.warned) for p in dashboard.periods}


def test_period_figures_for_an_admin(city):
    dashboard = build_dashboard(city.admin, NOW)
    assert _periods(dashboard) == {
        # Today: #15, received 07:40 and approved 09:40.
        "today": (1, 1, 0, 0),
        # Since Monday 17 June: #4 (pending, warned), #13 (warned), #14, #15.
        "week": (4, 1, 1, 2),
        # June: 14 received (all but #3, #10, #12, #17); approved in June: the 10 June visits plus #10,
        # which started on 31 May but was approved at 01:55 on 1 June; pending #4, #7; warned #4, #7, #13.
        "month": (14, 11, 2, 3),
    }
    week = next(p for p in dashboard.periods if p.key == "week")
    assert week.warned_share == 0.5
    assert dashboard.pending_total == 2
    # The oldest pending is #7, received 11:10 on 4 June.
    assert dashboard.oldest_pending_received_at == beijing(6, 4, 11, 10)
    assert dashboard.oldest_pending_age == timedelta(days=15, hours=22, minutes=50)


def test_coverages_and_overdue_people(city):
    dashboard = build_dashboard(city.admin, NOW, overdue_limit=3)
    # Ordered by station code: A, B, C.
    assert [(s.station_id, s.covered, s.active) for s in dashboard.stations] == [
        (city.station_a.id, 1, 4), (city.station_b.id, 1, 2), (city.station_c.id, 1, 2)]
    assert (dashboard.villages.part, dashboard.villages.whole) == (5, 7)
    assert (dashboard.registry.part, dashboard.registry.whole) == (7, 8)
    assert dashboard.registry_since == date(2024, 1, 1)
    assert [s.beneficiary.id for s in dashboard.overdue] == [city.p4.id, city.p9.id, city.p7.id]


def test_worker_activity_table(city):
    dashboard = build_dashboard(city.admin, NOW)
    # 1–20 June 2024: Mon–Fri 3–7, 10–14, 17–20 = 14 working days.
    assert dashboard.working_days_so_far == 14
    assert {w.worker_id: (w.visits_this_month, w.returned_pending, w.warned) for w in dashboard.workers} == {
        city.w_a.id: (3, 0, 1), city.w_a2.id: (5, 0, 1), city.w_b.id: (5, 1, 1), city.w_c.id: (1, 0, 0)}
    assert {w.worker_id: w.per_working_day for w in dashboard.workers}[city.w_a2.id] == 5 / 14


def test_daily_chart_has_every_day_of_the_month_so_far(city):
    daily = dict(build_dashboard(city.admin, NOW).daily_submitted)
    assert len(daily) == 20
    # #2 started 00:30 on 1 June Beijing time and was received at 01:10: counted on 1 June.
    assert daily[date(2024, 6, 1)] == 1
    assert daily[date(2024, 6, 19)] == 2
    assert sum(daily.values()) == 14


def test_supervisor_sees_only_their_stations(city):
    dashboard = build_dashboard(city.supervisor_c, NOW)
    assert _periods(dashboard)["month"] == (1, 1, 0, 0)
    assert [s.station_id for s in dashboard.stations] == [city.station_c.id]
    assert [w.worker_id for w in dashboard.workers] == [city.w_c.id]
    assert (dashboard.villages.part, dashboard.villages.whole) == (2, 2)
    assert (dashboard.registry.part, dashboard.registry.whole) == (2, 2)
    assert [s.beneficiary.id for s in dashboard.overdue] == [city.p9.id]
    assert dashboard.pending_total == 0 and dashboard.oldest_pending_age is None


def test_query_count_does_not_grow_with_visits(city, count_queries):
    with count_queries() as few:
        build_dashboard(city.admin, NOW)
    for day in range(1, 20):
        add_visit(city.w_c, "home_visit", "submitted", beijing(6, day), beneficiary=city.p8, warning_count=1)
    db.session.commit()
    with count_queries() as many:
        dashboard = build_dashboard(city.admin, NOW)
    assert many.count == few.count
    assert dashboard.pending_total == 2 + 19


@pytest.mark.parametrize(("first", "last", "expected"), [
    (date(2024, 6, 1), date(2024, 6, 2), 0),   # a weekend
    (date(2024, 6, 3), date(2024, 6, 3), 1),
    (date(2024, 6, 1), date(2024, 6, 30), 20),
])
def test_working_days_between(first, last, expected):
    assert working_days_between(first, last) == expected


def test_workers_are_listed_by_station_and_name_never_by_output(city):
    workers = build_dashboard(city.admin, NOW).workers
    users = {user.id: user for user in (city.w_a, city.w_a2, city.w_b, city.w_c)}
    by_station_and_name = sorted(workers, key=lambda w: (users[w.worker_id].station.code, users[w.worker_id].username))
    assert [w.worker_id for w in workers] == [w.worker_id for w in by_station_and_name]
    # The busiest worker is not put first: the table shows activity, not a ranking (DESIGN.md, the 2023 rule).
    busiest = max(w.visits_this_month for w in workers)
    assert workers[0].visits_this_month < busiest


def test_a_station_schedule_matches_its_bar_and_lists_who_is_behind(city):
    bar = next(s for s in build_dashboard(city.admin, NOW).stations if s.station_id == city.station_a.id)
    schedule = station_schedule(city.admin, city.station_a.id, NOW)
    assert (schedule.coverage.covered, schedule.coverage.active) == (bar.covered, bar.active) == (1, 4)
    assert schedule.behind_total == len(schedule.behind) == 3
    assert schedule.behind[0].beneficiary.id == city.p4.id
    days = [status.next_due for status in schedule.behind]
    assert days == sorted(days)
    assert len(station_schedule(city.admin, city.station_a.id, NOW, limit=2).behind) == 2


def test_a_station_outside_the_scope_has_no_schedule_page(city):
    with pytest.raises(NotFound):
        station_schedule(city.supervisor_c, city.station_a.id, NOW)
    with pytest.raises(NotFound):
        station_schedule(city.admin, 999_999, NOW)


def test_a_station_schedule_costs_the_same_queries_however_many_are_behind(city, count_queries):
    with count_queries() as few:
        station_schedule(city.admin, city.station_a.id, NOW)
    for _ in range(5):
        make_beneficiary(city.station_a)
    with count_queries() as many:
        schedule = station_schedule(city.admin, city.station_a.id, NOW)
    assert many.count == few.count and len(schedule.behind) == 8
