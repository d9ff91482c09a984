"""A small city with hand-computed figures, shared by the schedule, coverage, dashboard and report tests.

茂名市 440900 > 茂南区 440902 (stations A and B) and 电白区 440904 (station C). "Now" is Thursday
2024-06-20 10:00 Beijing time; the report covers June 2024. Schedules: dibao overridden to 60 days;
tekun, left_behind_child and elderly_alone 30; disabled and other 91; risk tiers high 7, key 30,
general 91. Everyone was registered on 2024-01-01. The expected figures, worked out by hand, are in
the tests beside each assertion; the visits are numbered as in those comments.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from extensions import db
from models import CategorySchedule, Region, Visit
from tests.factories import make_admin, make_beneficiary, make_service_point, make_station, make_supervisor, make_worker

BEIJING = ZoneInfo("Asia/Shanghai")
NOW = datetime(2024, 6, 20, 10, 0, tzinfo=BEIJING)
REGISTERED = datetime(2024, 1, 1, 9, 0, tzinfo=BEIJING)


def beijing(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    """An aware Beijing time in 2024."""
    return datetime(2024, month, day, hour, minute, tzinfo=BEIJING)


def add_visit(worker, kind: str, status: str, started_at: datetime, *, beneficiary=None, minutes: int = 30,
              people_count: int = 1, warning_count: int = 0, reviewer=None, reviewed_at: datetime | None = None,
              station=None) -> Visit:
    """A visit row as the field API would leave it: received 10 minutes after it ended, decided 2 hours later."""
    ended_at = started_at + timedelta(minutes=minutes)
    received_at = ended_at + timedelta(minutes=10)
    decided = status in {"approved", "rejected", "returned"}
    visit = Visit(
        client_id=str(uuid.uuid4()), body_fingerprint="0" * 64, worker_id=worker.id,
        station_id=(station or worker.station).id, beneficiary_id=beneficiary.id if beneficiary else None,
        kind=kind, started_at=started_at, ended_at=ended_at, status=status, people_count=people_count,
        warning_count=warning_count, warning_severity=warning_count, received_at=received_at,
        reviewer_id=reviewer.id if decided and reviewer else None,
        reviewed_at=(reviewed_at or received_at + timedelta(hours=2)) if decided else None,
    )
    db.session.add(visit)
    return visit


def build_city() -> SimpleNamespace:
    """Create the city; returns its stations, people, workers, users and visits by name."""
    city = Region(code="440900", name="茂名市", level="city")
    maonan = Region(code="440902", name="茂南区", level="county", parent=city)
    dianbai = Region(code="440904", name="电白区", level="county", parent=city)
    town_a = Region(code="440902001", name="甲镇", level="township", parent=maonan)
    town_b = Region(code="440902002", name="乙镇", level="township", parent=maonan)
    town_c = Region(code="440904001", name="丙镇", level="township", parent=dianbai)
    villages = {
        code: Region(code=code, name=f"村{code[-3:]}", level="village", parent=parent)
        for code, parent in [("440902001001", town_a), ("440902001002", town_a), ("440902001003", town_a),
                             ("440902002001", town_b), ("440902002002", town_b),
                             ("440904001001", town_c), ("440904001002", town_c)]
    }
    db.session.add_all([city, maonan, dianbai, town_a, town_b, town_c, *villages.values()])
    db.session.add(CategorySchedule(category="dibao", interval_days=60))
    db.session.commit()

    station_a = make_station(code="440902001", name="甲镇社工站", region=town_a)
    station_b = make_station(code="440902002", name="乙镇社工站", region=town_b)
    station_c = make_station(code="440904001", name="丙镇社工站", region=town_c)
    # Villages with a service point: A 2 of 3, B 1 of 2, C 2 of 2.
    for code, station in [("440902001001", station_a), ("440902001002", station_a),
                          ("440902002001", station_b), ("440904001001", station_c), ("440904001002", station_c)]:
        make_service_point(station, region=villages[code])

    def person(station, categories, risk_tier=None, status="active"):
        return make_beneficiary(station, categories=categories, risk_tier=risk_tier, status=status,
                                created_at=REGISTERED)

    p1 = person(station_a, ["tekun"])                       # 30 days
    p2 = person(station_a, ["dibao"], risk_tier="high")     # min(60, 7) = 7
    p3 = person(station_a, ["dibao", "elderly_alone"])      # min(60, 30) = 30
    p4 = person(station_a, ["other"])                       # 91, never visited
    p5 = person(station_a, ["dibao"], status="closed")      # served in June, not in the registry now
    p6 = person(station_b, ["left_behind_child"], risk_tier="general")  # min(30, 91) = 30
    p7 = person(station_b, ["dibao"])                       # 60
    p8 = person(station_c, ["disabled"])                    # 91
    p9 = person(station_c, ["tekun"], risk_tier="key")      # 30; only a community activity names them

    w_a, w_a2 = make_worker(station_a, username="wa"), make_worker(station_a, username="wa2")
    w_b, w_c = make_worker(station_b, username="wb"), make_worker(station_c, username="wc")
    admin = make_admin()
    supervisor_c = make_supervisor(station_c)

    v = {}
    v[1] = add_visit(w_a, "home_visit", "approved", beijing(6, 10), beneficiary=p1, reviewer=admin)
    # 00:30 on 1 June in Beijing is still 31 May in UTC: it belongs to June.
    v[2] = add_visit(w_a, "home_visit", "approved", beijing(6, 1, 0, 30), beneficiary=p2, people_count=2,
                     reviewer=admin)
    v[3] = add_visit(w_a, "care_call", "approved", beijing(5, 15), beneficiary=p3, reviewer=admin)
    v[4] = add_visit(w_a, "home_visit", "submitted", beijing(6, 19), beneficiary=p3, warning_count=2)
    v[5] = add_visit(w_a2, "community_activity", "approved", beijing(6, 12), people_count=30, minutes=120,
                     reviewer=admin)
    v[6] = add_visit(w_a2, "epidemic_response", "approved", beijing(6, 3, 8), minutes=270, reviewer=admin)
    v[7] = add_visit(w_a2, "epidemic_response", "submitted", beijing(6, 4, 8), minutes=180, warning_count=1)
    v[8] = add_visit(w_a2, "home_visit", "approved", beijing(6, 5), beneficiary=p5, reviewer=admin)
    v[9] = add_visit(w_a2, "policy_outreach", "approved", beijing(6, 7), people_count=50, reviewer=admin)
    # 23:30 on 31 May in Beijing: May, although it was approved (reviewed) on 1 June.
    v[10] = add_visit(w_a, "home_visit", "approved", beijing(5, 31, 23, 30), beneficiary=p1, minutes=15,
                      reviewer=admin)
    v[11] = add_visit(w_b, "case_service", "approved", beijing(6, 5), beneficiary=p6, reviewer=admin)
    v[12] = add_visit(w_b, "home_visit", "approved", beijing(3, 1), beneficiary=p7, reviewer=admin)
    v[13] = add_visit(w_b, "home_visit", "rejected", beijing(6, 18), beneficiary=p7, warning_count=1,
                      reviewer=admin)
    v[14] = add_visit(w_b, "home_visit", "returned", beijing(6, 19), beneficiary=p7, reviewer=admin)
    v[15] = add_visit(w_b, "hardship_assistance", "approved", beijing(6, 20, 7), beneficiary=p7, reviewer=admin,
                      reviewed_at=beijing(6, 20, 9, 40))
    v[16] = add_visit(w_b, "disaster_relief", "approved", beijing(6, 8, 8), minutes=18 * 60, reviewer=admin)
    v[17] = add_visit(w_c, "home_visit", "approved", beijing(4, 1), beneficiary=p8, reviewer=admin)
    v[18] = add_visit(w_c, "community_activity", "approved", beijing(6, 15), beneficiary=p9, people_count=12,
                      reviewer=admin)
    db.session.commit()
    return SimpleNamespace(
        city=city, maonan=maonan, dianbai=dianbai, station_a=station_a, station_b=station_b, station_c=station_c,
        p1=p1, p2=p2, p3=p3, p4=p4, p5=p5, p6=p6, p7=p7, p8=p8, p9=p9,
        w_a=w_a, w_a2=w_a2, w_b=w_b, w_c=w_c, admin=admin, supervisor_c=supervisor_c, visits=v,
    )
