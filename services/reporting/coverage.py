"""Who is due a visit, who is overdue, and how much of the registry is covered — all as SQL aggregates.

What counts as a visit to a person: an APPROVED visit of a kind that is about that one person —
home_visit 入户走访, case_service 个案服务 and care_call 电话/视频探访 (the national guidance counts phone
and video calls as 探访). Community activities, outreach and duty are not visits to a person even when
one is named. Submitted (待审核) visits are shown as pending and never count until approved; returned
and rejected ones count for nothing.

Per active beneficiary:
- required interval: see services.schedules;
- last approved visit: the latest started_at of a counting visit, up to `as_of`;
- next due date: the local date of that visit plus the interval; a person never visited is due from
  the day they were registered (every registered person must be served, the sooner the better);
- days overdue: as_of's local date minus the next due date (positive when overdue);
- covered: visited (approved) and not overdue, i.e. visited within their required period.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, Subquery, and_, case, func, or_, select

from extensions import db
from models import Beneficiary, BeneficiaryCategory, Region, ServicePoint, Station, User, Visit
from models.enums import KINDS_WITH_BENEFICIARY, BeneficiaryStatus, VisitStatus
from services.permissions import scope_beneficiaries, station_ids_in_scope
from services.reporting.schedules import (
    FALLBACK_CATEGORY,
    category_interval_case,
    category_intervals,
    date_of_day_number,
    day_number,
    local_date,
    local_day_of,
    risk_tier_interval_case,
)

# Kinds of visit that count as a visit to the person (see the module docstring).
COUNTING_KINDS = KINDS_WITH_BENEFICIARY


def schedule_subquery(as_of: datetime, station_ids: Select | None = None,
                      intervals: dict[str, int] | None = None, *,
                      beneficiary_ids: Collection[int] | None = None) -> Subquery:
    """One row per active beneficiary (optionally of some stations, or only some people) with their schedule.

    Columns: beneficiary_id, station_id, interval_days, last_approved_at, next_due_day (a day number,
    see services.reporting.schedules.day_number), pending_visits. Two GROUP BY subqueries, no per-person work.
    `beneficiary_ids` narrows the aggregation itself to those people (one page of a list), so a page
    does not pay for the whole registry.
    """
    intervals = intervals if intervals is not None else category_intervals()
    by_category = (
        select(BeneficiaryCategory.beneficiary_id,
               func.min(category_interval_case(BeneficiaryCategory.category, intervals)).label("days"))
        .group_by(BeneficiaryCategory.beneficiary_id)
        .subquery("category_interval")
    )
    visits = (
        select(Visit.beneficiary_id,
               func.max(case((Visit.status == VisitStatus.APPROVED, Visit.started_at))).label("last_approved_at"),
               func.count(case((Visit.status == VisitStatus.SUBMITTED, Visit.id))).label("pending_visits"))
        .where(Visit.kind.in_(COUNTING_KINDS), Visit.beneficiary_id.is_not(None),
               Visit.status.in_((VisitStatus.APPROVED, VisitStatus.SUBMITTED)), Visit.started_at <= as_of)
        .group_by(Visit.beneficiary_id)
    )
    people = select(Beneficiary.id).where(Beneficiary.status == BeneficiaryStatus.ACTIVE)
    if station_ids is not None:
        people = people.where(Beneficiary.station_id.in_(station_ids))
        visits = visits.where(Visit.beneficiary_id.in_(people))
    if beneficiary_ids is not None:
        visits = visits.where(Visit.beneficiary_id.in_(list(beneficiary_ids)))
    visits = visits.subquery("last_visit")

    category_days = func.coalesce(by_category.c.days, intervals[FALLBACK_CATEGORY])
    risk_days = risk_tier_interval_case(Beneficiary.risk_tier)
    # CASE instead of LEAST/min(): one spelling for both databases; a NULL tier compares false.
    interval_days = case((risk_days < category_days, risk_days), else_=category_days)
    next_due_day = func.coalesce(local_day_of(visits.c.last_approved_at, as_of) + interval_days,
                                 local_day_of(Beneficiary.created_at, as_of))
    statement = (
        select(Beneficiary.id.label("beneficiary_id"), Beneficiary.station_id,
               interval_days.label("interval_days"), visits.c.last_approved_at,
               next_due_day.label("next_due_day"),
               func.coalesce(visits.c.pending_visits, 0).label("pending_visits"))
        .outerjoin(by_category, by_category.c.beneficiary_id == Beneficiary.id)
        .outerjoin(visits, visits.c.beneficiary_id == Beneficiary.id)
        .where(Beneficiary.status == BeneficiaryStatus.ACTIVE)
    )
    if station_ids is not None:
        statement = statement.where(Beneficiary.station_id.in_(station_ids))
    if beneficiary_ids is not None:
        statement = statement.where(Beneficiary.id.in_(list(beneficiary_ids)))
    return statement.subquery("schedule")


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


def urgency_key(schedule_columns) -> tuple:
    """SQL sort key of the due lists: people with no visit awaiting review first, then the earliest next due day.

    `schedule_columns` is anything with the schedule's `pending_visits` and `next_due_day` columns
    (a schedule_subquery's `.c`, or the `selected_columns` of due_beneficiaries_query).
    """
    return case((schedule_columns.pending_visits > 0, 1), else_=0), schedule_columns.next_due_day


def _people_with_schedule(user: User, as_of: datetime) -> tuple[Select, Subquery, int]:
    """The user's scoped people joined to their schedule, selected in the row shape due_statuses() reads.

    Returns the statement, the schedule subquery (to filter and order on) and today's day number.
    """
    schedule = schedule_subquery(as_of, station_ids_in_scope(user))
    today = day_number(local_date(as_of))
    statement = (
        select(Beneficiary, schedule.c.interval_days, schedule.c.last_approved_at, schedule.c.next_due_day,
               (today - schedule.c.next_due_day).label("days_overdue"), schedule.c.pending_visits)
        .join(schedule, schedule.c.beneficiary_id == Beneficiary.id)
    )
    return statement, schedule, today


def due_beneficiaries_query(user: User, as_of: datetime, *, within_days: int = 0,
                            near: tuple[float, float] | None = None) -> Select:
    """The user's scoped active beneficiaries who are due a visit by `as_of` (+ within_days), most urgent first.

    For `GET /api/v1/beneficiaries?due=1`: a worker gets their station's people, a supervisor their
    stations', an admin everyone. Rows are (Beneficiary, interval_days, last_approved_at, next_due_day,
    days_overdue, pending_visits); turn them into DueStatus with `due_statuses(rows)`.

    Order: people with no visit awaiting review first, then the earliest next due day (the most
    overdue), then id — or, when `near=(lat, lon)` (WGS-84) is given, the nearest home first (people
    without a home location last), then that same urgency. The order always ends with Beneficiary.id,
    so the statement can be paginated by the caller.
    """
    statement, schedule, today = _people_with_schedule(user, as_of)
    statement = statement.where(schedule.c.next_due_day <= today + within_days)
    urgency = urgency_key(schedule.c)
    if near is not None:
        statement = statement.order_by(Beneficiary.home_latitude.is_(None), _squared_distance(near), *urgency)
    else:
        statement = statement.order_by(*urgency)
    return scope_beneficiaries(statement.order_by(Beneficiary.id), user)


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

    One query (plus the category intervals) however many people: for the items of a list page, which
    show their schedule whether or not they are due. Closed people have no schedule and are left out.
    """
    if not beneficiaries:
        return {}
    by_id = {beneficiary.id: beneficiary for beneficiary in beneficiaries}
    schedule = schedule_subquery(as_of, beneficiary_ids=list(by_id))
    today = day_number(local_date(as_of))
    rows = db.session.execute(
        select(schedule.c.beneficiary_id, schedule.c.interval_days, schedule.c.last_approved_at,
               schedule.c.next_due_day, (today - schedule.c.next_due_day).label("days_overdue"),
               schedule.c.pending_visits)
    )
    statuses = due_statuses((by_id[beneficiary_id], *columns) for beneficiary_id, *columns in rows)
    return {status.beneficiary.id: status for status in statuses}


def most_overdue(user: User, as_of: datetime, limit: int = 10) -> list[DueStatus]:
    """The user's scoped people most overdue for a visit (overdue only, the longest first)."""
    statement, schedule, today = _people_with_schedule(user, as_of)
    statement = (
        statement.where(schedule.c.next_due_day < today)
        .order_by(schedule.c.next_due_day, Beneficiary.id)
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


def covered_flag(schedule: Subquery, as_of: datetime):
    """SQL: 1 when the schedule row's person was visited (approved) within their required period, else 0."""
    today = day_number(local_date(as_of))
    return case((and_(schedule.c.last_approved_at.is_not(None), schedule.c.next_due_day >= today), 1), else_=0)


def station_coverage(user: User, as_of: datetime) -> list[StationCoverage]:
    """Schedule coverage of every station in the user's scope, by station code (one query)."""
    station_ids = station_ids_in_scope(user)
    schedule = schedule_subquery(as_of, station_ids)
    statement = (
        select(Station.id, Station.name, func.count(schedule.c.beneficiary_id),
               func.coalesce(func.sum(covered_flag(schedule, as_of)), 0))
        .outerjoin(schedule, schedule.c.station_id == Station.id)
        .group_by(Station.id, Station.code, Station.name)
        .order_by(Station.code)
    )
    if station_ids is not None:
        statement = statement.where(Station.id.in_(station_ids))
    return [StationCoverage(*row) for row in db.session.execute(statement)]


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
    with_point = select(ServicePoint.region_id).where(ServicePoint.region_id.is_not(None))
    statement = select(func.count(villages.c.id),
                       func.count(case((villages.c.id.in_(with_point), villages.c.id))))
    whole, part = db.session.execute(statement).one()
    return Ratio(part=part, whole=whole)


def registry_coverage(user: User, start: datetime, end: datetime) -> Ratio:
    """The second 100% coverage: active registered people with an approved visit in [start, end) ÷ all active."""
    served = select(Visit.beneficiary_id).where(Visit.status == VisitStatus.APPROVED, Visit.started_at >= start,
                                                Visit.started_at < end, Visit.beneficiary_id.is_not(None))
    statement = scope_beneficiaries(
        select(func.count(Beneficiary.id), func.count(case((Beneficiary.id.in_(served), Beneficiary.id))))
        .where(Beneficiary.status == BeneficiaryStatus.ACTIVE),
        user,
    )
    whole, part = db.session.execute(statement).one()
    return Ratio(part=part, whole=whole)
