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

from sqlalchemy import and_, case, func, or_, select

from extensions import db
from models import Station, User, Visit, utcnow
from models.enums import Role, VisitStatus
from services.permissions import scope_visits, station_ids_in_scope
from services.reporting.coverage import (
    DueStatus,
    Ratio,
    StationCoverage,
    most_overdue,
    registry_coverage,
    station_coverage,
    village_coverage,
)
from services.reporting.schedules import date_of_day_number, local_date, local_day_of, local_midnight

# The periods' codes; their names are chosen where they are shown (admin/reports.py).
PERIODS = ("today", "week", "month")


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
    """One query: per period submitted/approved/pending/warned, plus all pending and the oldest of them."""
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
    columns += [func.count(case((Visit.status == VisitStatus.SUBMITTED, Visit.id))),
                func.min(case((Visit.status == VisitStatus.SUBMITTED, Visit.received_at)))]
    earliest = min(starts.values())
    statement = scope_visits(
        select(*columns).where(or_(Visit.received_at >= earliest, Visit.reviewed_at >= earliest,
                                   Visit.status == VisitStatus.SUBMITTED)),
        user,
    )
    row = db.session.execute(statement).one()
    periods = [
        PeriodFigures(key, starts[key], *row[index * 4:index * 4 + 4])
        for index, key in enumerate(PERIODS)
    ]
    return periods, row[-2], row[-1]


def _worker_activity(user: User, month_start: datetime, working_days: int) -> list[WorkerActivity]:
    """Active workers of the scope with their month's figures, by station code and username (one query)."""
    this_month = Visit.received_at >= month_start
    statement = (
        select(User.id, User.display_name, User.username, Station.name,
               func.count(case((this_month, Visit.id))),
               func.count(case((Visit.status == VisitStatus.RETURNED, Visit.id))),
               func.count(case((and_(this_month, Visit.warning_count > 0), Visit.id))))
        .select_from(User)
        .join(Station, Station.id == User.station_id)
        .outerjoin(Visit, and_(Visit.worker_id == User.id, or_(this_month, Visit.status == VisitStatus.RETURNED)))
        .where(User.role == Role.WORKER, User.active.is_(True))
        .group_by(User.id, User.display_name, User.username, Station.code, Station.name)
        .order_by(Station.code, User.username)
    )
    station_ids = station_ids_in_scope(user)
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
