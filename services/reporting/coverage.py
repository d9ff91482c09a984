"""Who is due a visit, who is overdue, and how much of the registry is covered.

Schedules are read from the state kept on each person's row (services.reporting.schedule_state), and
"served in a range" is an EXISTS on an indexed column, so no figure costs visits × people.

What counts as a visit to a person: an APPROVED visit of a kind that is about that one person —
home_visit 入户走访, case_service 个案服务 and care_call 电话/视频探访 (the national guidance counts phone
and video calls as 探访). Community activities, outreach and duty are not visits to a person even when
one is named. Submitted (待审核) visits are shown as pending and never count until approved; returned
and rejected ones count for nothing.

Per active beneficiary:
- required interval: see services.schedules;
- last approved visit: the latest started_at of a counting visit (the kept state: as approved now;
  `as_of` only sets the day that overdue days count to);
- next due date: the local date of that visit plus the interval; a person never visited is due from
  the day they were registered (every registered person must be served, the sooner the better);
- days overdue: as_of's local date minus the next due date (positive when overdue);
- covered: visited (approved) and not overdue, i.e. visited within their required period.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, and_, case, exists, func, or_, select

from extensions import db
from models import Beneficiary, Region, ServicePoint, Station, User, Visit
from models.enums import KINDS_WITH_BENEFICIARY, BeneficiaryStatus, VisitStatus
from services.permissions import scope_beneficiaries, station_ids_in_scope
from services.reporting.schedules import (
    date_of_day_number,
    day_number,
    local_date,
)

# Kinds of visit that count as a visit to the person (see the module docstring).
COUNTING_KINDS = KINDS_WITH_BENEFICIARY


def pending_visits_of(beneficiary_id_column):
    """SQL: how many counting visits to the person await review (a correlated count on a small partial index)."""
    return (
        select(func.count(Visit.id))
        .where(Visit.beneficiary_id == beneficiary_id_column, Visit.status == VisitStatus.SUBMITTED,
               Visit.kind.in_(COUNTING_KINDS))
        .scalar_subquery()
    )


def schedule_columns(today: int) -> tuple:
    """The schedule of each Beneficiary row, read from its kept state (services.reporting.schedule_state).

    (interval_days, last_approved_at, next_due_day, days_overdue, pending_visits), labelled; `today` is
    the day number the overdue days count to.
    """
    return (
        Beneficiary.schedule_interval_days.label("interval_days"),
        Beneficiary.last_approved_visit_at.label("last_approved_at"),
        Beneficiary.next_due_day.label("next_due_day"),
        (today - Beneficiary.next_due_day).label("days_overdue"),
        pending_visits_of(Beneficiary.id).label("pending_visits"),
    )


@dataclass(frozen=True)
class DueStatus:
    """A beneficiary with where they stand against their schedule."""

    beneficiary: Beneficiary
    interval_days: int
    last_approved_at: datetime | None
    next_due: date
    days_overdue: int
    pending_visits: int

    @property
    def overdue(self) -> bool:
        return self.days_overdue > 0

    @property
    def pending_review(self) -> bool:
        """Whether a counting visit to the person awaits review (it will count once approved)."""
        return self.pending_visits > 0


def urgency_key(schedule) -> tuple:
    """SQL sort key of the due lists: people with no visit awaiting review first, then the earliest next due day.

    `schedule` is anything with the schedule's `pending_visits` and `next_due_day` columns (the
    `selected_columns` of due_beneficiaries_query).
    """
    return case((schedule.pending_visits > 0, 1), else_=0), schedule.next_due_day


def _people_with_schedule(user: User, as_of: datetime) -> tuple[Select, int]:
    """The user's scoped active people with their schedule, in the row shape due_statuses() reads; and today."""
    today = day_number(local_date(as_of))
    statement = scope_beneficiaries(
        select(Beneficiary, *schedule_columns(today)).where(Beneficiary.status == BeneficiaryStatus.ACTIVE), user)
    return statement, today


def due_beneficiaries_query(user: User, as_of: datetime, *, within_days: int = 0,
                            near: tuple[float, float] | None = None) -> Select:
    """The user's scoped active beneficiaries who are due a visit by `as_of` (+ within_days), most urgent first.

    For `GET /api/v1/beneficiaries?due=1`: a worker gets their station's people, a supervisor their
    stations', an admin everyone. Rows are (Beneficiary, interval_days, last_approved_at, next_due_day,
    days_overdue, pending_visits); turn them into DueStatus with `due_statuses(rows)`. The schedule is
    the kept state, so `as_of` only sets the day counted to ("today").

    Order: people with no visit awaiting review first, then the earliest next due day (the most
    overdue), then id — or, when `near=(lat, lon)` (WGS-84) is given, the nearest home first (people
    without a home location last), then that same urgency. The order always ends with Beneficiary.id,
    so the statement can be paginated by the caller.
    """
    statement, today = _people_with_schedule(user, as_of)
    statement = statement.where(Beneficiary.next_due_day <= today + within_days)
    urgency = urgency_key(statement.selected_columns)
    if near is not None:
        statement = statement.order_by(Beneficiary.home_latitude.is_(None), _squared_distance(near), *urgency)
    else:
        statement = statement.order_by(*urgency)
    return statement.order_by(Beneficiary.id)


def _squared_distance(near: tuple[float, float]):
    """SQL: an equirectangular squared distance to a point — monotone in true distance at a station's scale."""
    latitude, longitude = near
    east_west_scale = math.cos(math.radians(latitude))
    return ((Beneficiary.home_latitude - latitude) * (Beneficiary.home_latitude - latitude)
            + (Beneficiary.home_longitude - longitude) * (Beneficiary.home_longitude - longitude)
            * east_west_scale * east_west_scale)


def due_statuses(rows) -> list[DueStatus]:
    """Rows of due_beneficiaries_query (or most_overdue) as DueStatus objects."""
    return [
        DueStatus(beneficiary=beneficiary, interval_days=interval_days, last_approved_at=last_approved_at,
                  next_due=date_of_day_number(next_due_day), days_overdue=days_overdue,
                  pending_visits=pending_visits)
        for beneficiary, interval_days, last_approved_at, next_due_day, days_overdue, pending_visits in rows
    ]


def due_statuses_of(beneficiaries: Sequence[Beneficiary], as_of: datetime) -> dict[int, DueStatus]:
    """Where each of these active people stands against their schedule as of a moment, by id.

    One query however many people: for the items of a list page, which show their schedule whether or
    not they are due. Closed people have no schedule and are left out.
    """
    if not beneficiaries:
        return {}
    by_id = {beneficiary.id: beneficiary for beneficiary in beneficiaries}
    today = day_number(local_date(as_of))
    rows = db.session.execute(
        select(Beneficiary.id, *schedule_columns(today))
        .where(Beneficiary.id.in_(list(by_id)), Beneficiary.status == BeneficiaryStatus.ACTIVE)
    )
    statuses = due_statuses((by_id[beneficiary_id], *columns) for beneficiary_id, *columns in rows)
    return {status.beneficiary.id: status for status in statuses}


def most_overdue(user: User, as_of: datetime, limit: int = 10) -> list[DueStatus]:
    """The user's scoped people most overdue for a visit (overdue only, the longest first)."""
    statement, today = _people_with_schedule(user, as_of)
    statement = (
        statement.where(Beneficiary.next_due_day < today)
        .order_by(Beneficiary.next_due_day, Beneficiary.id)
        .limit(limit)
    )
    return due_statuses(db.session.execute(statement))


@dataclass(frozen=True)
class StationCoverage:
    """Active beneficiaries of one station visited within their required period."""

    station_id: int
    station_name: str
    active: int
    covered: int

    @property
    def ratio(self) -> float | None:
        return self.covered / self.active if self.active else None


def covered_flag(as_of: datetime):
    """SQL: 1 when the Beneficiary row's person was visited (approved) within their required period, else 0."""
    today = day_number(local_date(as_of))
    covered = and_(Beneficiary.last_approved_visit_at.is_not(None), Beneficiary.next_due_day >= today)
    return case((covered, 1), else_=0)


def station_coverage(user: User, as_of: datetime) -> list[StationCoverage]:
    """Schedule coverage of every station in the user's scope, by station code (two grouped reads, no visits)."""
    station_ids = station_ids_in_scope(user)
    people = (
        select(Beneficiary.station_id, func.count(Beneficiary.id), func.sum(covered_flag(as_of)))
        .where(Beneficiary.status == BeneficiaryStatus.ACTIVE)
        .group_by(Beneficiary.station_id)
    )
    stations = select(Station.id, Station.name).order_by(Station.code)
    if station_ids is not None:
        people = people.where(Beneficiary.station_id.in_(station_ids))
        stations = stations.where(Station.id.in_(station_ids))
    figures = {station_id: (active, covered or 0) for station_id, active, covered in db.session.execute(people)}
    return [StationCoverage(station_id, name, *figures.get(station_id, (0, 0)))
            for station_id, name in db.session.execute(stations)]


@dataclass(frozen=True)
class Ratio:
    """A share: part ÷ whole, None when there is no whole."""

    part: int
    whole: int

    @property
    def ratio(self) -> float | None:
        return self.part / self.whole if self.whole else None


def villages_in_scope(station_ids: Select | None) -> Select:
    """The village/community regions of the stations' townships, plus those their service points sit in."""
    villages = select(Region.id).where(Region.level == "village")
    if station_ids is None:
        return villages
    townships = select(Station.region_id).where(Station.id.in_(station_ids), Station.region_id.is_not(None))
    served = select(ServicePoint.region_id).where(ServicePoint.station_id.in_(station_ids),
                                                  ServicePoint.region_id.is_not(None))
    return villages.where(or_(Region.parent_id.in_(townships), Region.id.in_(served)))


def village_coverage(user: User) -> Ratio:
    """The first 100% coverage: villages/communities with a service point ÷ all villages in the user's scope."""
    villages = villages_in_scope(station_ids_in_scope(user)).subquery()
    with_point = exists().where(ServicePoint.region_id == villages.c.id)
    statement = select(func.count(villages.c.id), func.count(case((with_point, villages.c.id))))
    whole, part = db.session.execute(statement).one()
    return Ratio(part=part, whole=whole)


def served_in_range(start: datetime, end: datetime, *extra_conditions):
    """SQL: whether the Beneficiary row's person is named on an approved visit started in [start, end).

    A correlated EXISTS on the partial index of approved visits by person and start time: one index probe
    per person, never a subquery over all visits held in memory.
    """
    return exists().where(Visit.beneficiary_id == Beneficiary.id, Visit.status == VisitStatus.APPROVED,
                          Visit.started_at >= start, Visit.started_at < end, *extra_conditions)


def registry_coverage(user: User, start: datetime, end: datetime) -> Ratio:
    """The second 100% coverage: active registered people with an approved visit in [start, end) ÷ all active."""
    active = scope_beneficiaries(
        select(func.count(Beneficiary.id)).where(Beneficiary.status == BeneficiaryStatus.ACTIVE), user)
    served = active.where(served_in_range(start, end))
    whole, part = db.session.execute(select(active.scalar_subquery(), served.scalar_subquery())).one()
    return Ratio(part=part, whole=whole)
