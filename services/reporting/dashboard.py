"""The admin dashboard's figures, scoped to the user (a supervisor their stations, an admin everything).

Every figure is an SQL aggregate; the number of queries is fixed, whatever the number of visits.
Periods follow the local calendar (config TIMEZONE, Asia/Shanghai): today, this week (from Monday)
and this month, each up to now. "Submitted" counts visits received in the period whatever their
state now; "approved" those approved (reviewed) in the period; "pending" those received in the period
still awaiting review; "warned" those received in the period with at least one authenticity warning.
The registry coverage on the dashboard is year to date: a quarterly schedule cannot be met in a month.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, func, literal, or_, select, union_all
from sqlalchemy.orm import joinedload

from extensions import db
from models import Beneficiary, Station, User, Visit, utcnow
from models.enums import BeneficiaryStatus, Role, VisitStatus
from services.errors import NotFound
from services.permissions import can_access_station, scope_visits, station_ids_in_scope
from services.reporting.coverage import (
    DueStatus,
    Ratio,
    StationCoverage,
    covered_flag,
    due_statuses,
    most_overdue,
    registry_coverage,
    schedule_columns,
    station_coverage,
    village_coverage,
)
from services.reporting.schedules import date_of_day_number, day_number, local_date, local_day_of, local_midnight

# The periods' codes; their names are chosen where they are shown (admin/reports.py).
PERIODS = ("today", "week", "month")
# A station's schedule page lists at most this many of the people behind schedule (the most overdue first).
BEHIND_SCHEDULE_LIMIT = 200


@dataclass(frozen=True)
class PeriodFigures:
    """Visit figures of one period."""

    key: str
    start: datetime
    submitted: int
    approved: int
    pending: int
    warned: int

    @property
    def warned_share(self) -> float | None:
        return self.warned / self.submitted if self.submitted else None


@dataclass(frozen=True)
class WorkerActivity:
    """One worker's month: what a supervisor needs to support them — never a ranking."""

    worker_id: int
    name: str
    station_name: str
    visits_this_month: int
    per_working_day: float
    returned_pending: int
    warned: int

    @property
    def warned_share(self) -> float | None:
        return self.warned / self.visits_this_month if self.visits_this_month else None


@dataclass
class Dashboard:
    """Everything the dashboard page shows."""

    now: datetime
    periods: list[PeriodFigures]
    pending_total: int
    oldest_pending_received_at: datetime | None
    stations: list[StationCoverage]
    villages: Ratio
    registry: Ratio
    registry_since: date
    overdue: list[DueStatus]
    workers: list[WorkerActivity]
    working_days_so_far: int
    daily_submitted: list[tuple[date, int]] = field(default_factory=list)

    @property
    def oldest_pending_age(self) -> timedelta | None:
        if self.oldest_pending_received_at is None:
            return None
        return self.now - self.oldest_pending_received_at


def period_starts(now: datetime) -> dict[str, datetime]:
    """The local-calendar starts of today, this week (Monday) and this month."""
    today = local_date(now)
    return {
        "today": local_midnight(today),
        "week": local_midnight(today - timedelta(days=today.weekday())),
        "month": local_midnight(today.replace(day=1)),
    }


def working_days_between(first: date, last: date) -> int:
    """Monday-to-Friday days from first to last, both included."""
    days = (last - first).days + 1
    full_weeks, remainder = divmod(max(days, 0), 7)
    extra = sum(1 for offset in range(remainder) if (first.weekday() + offset) % 7 < 5)
    return full_weeks * 5 + extra


def build_dashboard(user: User, now: datetime | None = None, overdue_limit: int = 10) -> Dashboard:
    """All dashboard figures for the user's scope, as of now (default: the current time)."""
    now = now or utcnow()
    starts = period_starts(now)
    periods, pending_total, oldest_pending = _period_figures(user, starts)
    today = local_date(now)
    month_start = today.replace(day=1)
    year_start = local_midnight(today.replace(month=1, day=1))
    working_days = working_days_between(month_start, today)
    return Dashboard(
        now=now,
        periods=periods,
        pending_total=pending_total,
        oldest_pending_received_at=oldest_pending,
        stations=station_coverage(user, now),
        villages=village_coverage(user),
        registry=registry_coverage(user, year_start, now),
        registry_since=year_start.date(),
        overdue=most_overdue(user, now, overdue_limit),
        workers=_worker_activity(user, starts["month"], working_days),
        working_days_so_far=working_days,
        daily_submitted=_daily_submitted(user, starts["month"], now),
    )


def _period_figures(user: User, starts: dict[str, datetime]) -> tuple[list[PeriodFigures], int, datetime | None]:
    """Two queries: per period submitted/approved/pending/warned; then all pending and the oldest of them.

    The first reads only the visits received or approved since the earliest period start (two index
    ranges); the second only the pending visits (a partial index), however many visits there are.
    """
    columns = []
    for key in PERIODS:
        start = starts[key]
        received = Visit.received_at >= start
        columns += [
            func.count(case((received, Visit.id))),
            func.count(case((and_(Visit.status == VisitStatus.APPROVED, Visit.reviewed_at >= start), Visit.id))),
            func.count(case((and_(received, Visit.status == VisitStatus.SUBMITTED), Visit.id))),
            func.count(case((and_(received, Visit.warning_count > 0), Visit.id))),
        ]
    earliest = min(starts.values())
    statement = scope_visits(
        select(*columns).where(or_(Visit.received_at >= earliest,
                                   and_(Visit.status == VisitStatus.APPROVED, Visit.reviewed_at >= earliest))),
        user,
    )
    row = db.session.execute(statement).one()
    periods = [
        PeriodFigures(key, starts[key], *row[index * 4:index * 4 + 4])
        for index, key in enumerate(PERIODS)
    ]
    pending = scope_visits(
        select(func.count(Visit.id), func.min(Visit.received_at)).where(Visit.status == VisitStatus.SUBMITTED), user)
    pending_total, oldest_pending = db.session.execute(pending).one()
    return periods, pending_total, oldest_pending


def _worker_activity(user: User, month_start: datetime, working_days: int) -> list[WorkerActivity]:
    """Active workers of the scope with their month's figures, by station code and username (one query).

    The visits are aggregated per worker first — only those received this month or returned — and then
    joined to the workers, instead of walking every visit of every worker.
    """
    station_ids = station_ids_in_scope(user)
    # Two index ranges (received this month; returned, a small partial index), summed per worker.
    received = (
        select(Visit.worker_id, literal(1).label("visit"), literal(0).label("returned"),
               case((Visit.warning_count > 0, 1), else_=0).label("warned"))
        .where(Visit.received_at >= month_start)
    )
    returned = select(Visit.worker_id, literal(0), literal(1), literal(0)).where(Visit.status == VisitStatus.RETURNED)
    if station_ids is not None:
        # Everyone's figures would do (the join below keeps the scope's workers), but not at a city's size.
        workers = select(User.id).where(User.role == Role.WORKER, User.station_id.in_(station_ids))
        received, returned = received.where(Visit.worker_id.in_(workers)), returned.where(Visit.worker_id.in_(workers))
    rows = union_all(received, returned).subquery("worker_rows")
    figures = (
        select(rows.c.worker_id, func.sum(rows.c.visit).label("visits"), func.sum(rows.c.returned).label("returned"),
               func.sum(rows.c.warned).label("warned"))
        .group_by(rows.c.worker_id)
        .subquery("worker_figures")
    )
    statement = (
        select(User.id, User.display_name, User.username, Station.name,
               func.coalesce(figures.c.visits, 0), func.coalesce(figures.c.returned, 0),
               func.coalesce(figures.c.warned, 0))
        .select_from(User)
        .join(Station, Station.id == User.station_id)
        .outerjoin(figures, figures.c.worker_id == User.id)
        .where(User.role == Role.WORKER, User.active.is_(True))
        .order_by(Station.code, User.username)
    )
    if station_ids is not None:
        statement = statement.where(User.station_id.in_(station_ids))
    return [
        WorkerActivity(worker_id=worker_id, name=display_name or username, station_name=station_name,
                       visits_this_month=visits, per_working_day=visits / working_days if working_days else 0.0,
                       returned_pending=returned, warned=warned)
        for worker_id, display_name, username, station_name, visits, returned, warned in db.session.execute(statement)
    ]


def _daily_submitted(user: User, month_start: datetime, now: datetime) -> list[tuple[date, int]]:
    """Visits received per local day of this month, every day present (zeros included), for the chart."""
    day = local_day_of(Visit.received_at, now)
    statement = scope_visits(
        select(day, func.count(Visit.id)).where(Visit.received_at >= month_start).group_by(day), user
    )
    counts = {date_of_day_number(number): count for number, count in db.session.execute(statement)}
    first, last = local_date(month_start), local_date(now)
    return [(first + timedelta(days=offset), counts.get(first + timedelta(days=offset), 0))
            for offset in range((last - first).days + 1)]


@dataclass
class StationSchedule:
    """One station's visits on schedule, as its dashboard bar shows them, and the people behind schedule."""

    now: datetime
    station: Station
    coverage: StationCoverage
    # Active people not visited within their required interval, the most overdue first, at most `limit`.
    behind: list[DueStatus]
    limit: int

    @property
    def behind_total(self) -> int:
        return self.coverage.active - self.coverage.covered


def station_schedule(user: User, station_id: int, now: datetime | None = None,
                     limit: int = BEHIND_SCHEDULE_LIMIT) -> StationSchedule:
    """The station's schedule coverage (the dashboard's bar) and who is behind: what a click on the bar opens.

    NotFound for a station outside the user's scope (as for one that does not exist). Three queries,
    the list read along the index of a station's active people by next due day.
    """
    now = now or utcnow()
    station = db.session.get(Station, station_id)
    if station is None or not can_access_station(user, station_id):
        raise NotFound("社工站不存在", code="station_not_found")
    active = and_(Beneficiary.station_id == station_id, Beneficiary.status == BeneficiaryStatus.ACTIVE)
    count, covered = db.session.execute(
        select(func.count(Beneficiary.id), func.coalesce(func.sum(covered_flag(now)), 0)).where(active)).one()
    today = day_number(local_date(now))
    behind = (
        select(Beneficiary, *schedule_columns(today))
        .where(active, or_(Beneficiary.last_approved_visit_at.is_(None), Beneficiary.next_due_day < today))
        .options(joinedload(Beneficiary.station))
        .order_by(Beneficiary.next_due_day, Beneficiary.id)
        .limit(limit)
    )
    return StationSchedule(now=now, station=station,
                           coverage=StationCoverage(station_id, station.name, count, covered),
                           behind=due_statuses(db.session.execute(behind)), limit=limit)
