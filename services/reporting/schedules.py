"""Visit schedules: how often each beneficiary must be visited, and the portable SQL day arithmetic behind it.

A person's required interval is the strictest (smallest) of their categories' intervals — from the
admin-edited CategorySchedule rows, else DEFAULT_CATEGORY_INTERVAL_DAYS — tightened by their risk tier
(RISK_TIER_INTERVAL_DAYS) when that is stricter still. A person with no category follows "other".

Dates are calendar days in the configured time zone (Asia/Shanghai): a visit at 07:00 Beijing time on
the 1st belongs to the 1st, although it is the 31st in UTC. Day arithmetic is done on integer day
numbers (days since 1970-01-01, local) so the same SQL works on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from sqlalchemy import Float, Integer, String, case, literal_column, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from extensions import db
from models import CategorySchedule, User
from models.enums import BENEFICIARY_CATEGORIES, DEFAULT_CATEGORY_INTERVAL_DAYS, RISK_TIER_INTERVAL_DAYS
from services.audit import record_audit
from services.errors import Invalid, NotFound
from services.localtime import time_zone
from services.permissions import ensure_can_manage_organisation

EPOCH = date(1970, 1, 1)
# A schedule looser than a year would drop people out of the yearly "every registered person" target.
MIN_INTERVAL_DAYS = 1
MAX_INTERVAL_DAYS = 366
FALLBACK_CATEGORY = "other"
SAFE_ZONE_NAME = re.compile(r"[A-Za-z0-9_+\-/]+")


# --- portable SQL day arithmetic -------------------------------------------------------------------

class local_day(FunctionElement):  # noqa: N801 - SQL function naming
    """SQL: the local calendar day of a UTC timestamp column, as days since 1970-01-01 (an integer).

    Built with local_day_of(column); takes the zone name (PostgreSQL) and its fixed UTC offset
    (SQLite, which knows no zones; Asia/Shanghai has had no daylight saving since 1991).
    """

    type = Integer()
    inherit_cache = True
    name = "local_day"


@compiles(local_day, "sqlite")
def _local_day_sqlite(element, compiler, **kw):
    column, _zone, modifier = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CAST(julianday({column}, {modifier}) - 2440587.5 AS INTEGER)"


@compiles(local_day)
def _local_day_postgresql(element, compiler, **kw):
    column, zone, _modifier = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(CAST(({column} AT TIME ZONE CAST({zone} AS TEXT)) AS DATE) - DATE '1970-01-01')"


class epoch_seconds(FunctionElement):  # noqa: N801 - SQL function naming
    """SQL: seconds since 1970-01-01 UTC of a timestamp column (a float), for summing durations."""

    type = Float()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(epoch_seconds, "sqlite")
def _epoch_seconds_sqlite(element, compiler, **kw):
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


@compiles(epoch_seconds)
def _epoch_seconds_postgresql(element, compiler, **kw):
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"


def local_day_of(column, at: datetime | None = None):
    """The SQL expression of a timestamp column's local day number (see local_day)."""
    zone = time_zone()
    offset = (at or datetime.now(zone)).astimezone(zone).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    # Rendered inline, not bound: PostgreSQL must see the same expression in SELECT and GROUP BY.
    if not SAFE_ZONE_NAME.fullmatch(zone.key):
        raise ValueError(f"unexpected time zone name {zone.key!r}")
    return local_day(column, literal_column(f"'{zone.key}'", String), literal_column(f"'{minutes:+d} minutes'", String))


def day_number(day: date) -> int:
    """A calendar date as days since 1970-01-01, the unit of local_day."""
    return (day - EPOCH).days


def date_of_day_number(number: int) -> date:
    """The calendar date of a day number."""
    return EPOCH + timedelta(days=int(number))


def local_date(moment: datetime) -> date:
    """The local calendar date of an aware timestamp."""
    return moment.astimezone(time_zone()).date()


def local_midnight(day: date) -> datetime:
    """The aware timestamp at which a local calendar day begins."""
    return datetime(day.year, day.month, day.day, tzinfo=time_zone())


# --- the schedules -----------------------------------------------------------------------------------

def category_intervals() -> dict[str, int]:
    """The required visit interval in days of every category: the admin's rows over the defaults."""
    intervals = dict(DEFAULT_CATEGORY_INTERVAL_DAYS)
    rows = db.session.execute(select(CategorySchedule.category, CategorySchedule.interval_days))
    intervals.update({category: days for category, days in rows if category in intervals})
    return intervals


def required_interval_days(categories: list[str], risk_tier: str | None,
                           intervals: dict[str, int] | None = None) -> int:
    """The interval one person must be visited at: the strictest category, tightened by the risk tier."""
    intervals = intervals if intervals is not None else category_intervals()
    candidates = [intervals[category] for category in categories if category in intervals]
    days = min(candidates) if candidates else intervals[FALLBACK_CATEGORY]
    return min(days, RISK_TIER_INTERVAL_DAYS.get(risk_tier or "", days))


def category_interval_case(category_column, intervals: dict[str, int]):
    """SQL: a category column mapped to its interval in days (literal values: one query fewer per report)."""
    return case(intervals, value=category_column, else_=intervals[FALLBACK_CATEGORY])


def risk_tier_interval_case(risk_tier_column):
    """SQL: a risk-tier column mapped to its interval in days, NULL when the person has no tier."""
    return case(dict(RISK_TIER_INTERVAL_DAYS), value=risk_tier_column, else_=None)


def ensure_category_schedules() -> list[CategorySchedule]:
    """Create the missing CategorySchedule rows with their defaults, so admins see and edit every category."""
    present = set(db.session.scalars(select(CategorySchedule.category)))
    missing = [code for code in BENEFICIARY_CATEGORIES if code not in present]
    for code in missing:
        db.session.add(CategorySchedule(category=code, interval_days=DEFAULT_CATEGORY_INTERVAL_DAYS[code]))
    if missing:
        db.session.commit()
    return list(db.session.scalars(select(CategorySchedule)))


def set_category_interval(category: str, interval_days: int, actor: User) -> CategorySchedule:
    """Change the required visit interval of one category (admins only); audited."""
    ensure_can_manage_organisation(actor)
    if category not in BENEFICIARY_CATEGORIES:
        raise NotFound("类别不存在", code="category_not_found")
    if not isinstance(interval_days, int) or not MIN_INTERVAL_DAYS <= interval_days <= MAX_INTERVAL_DAYS:
        raise Invalid(f"走访周期须在 {MIN_INTERVAL_DAYS}–{MAX_INTERVAL_DAYS} 天之间", code="interval_out_of_range",
                      params={"min": MIN_INTERVAL_DAYS, "max": MAX_INTERVAL_DAYS},
                      fields={"interval_days": [f"between {MIN_INTERVAL_DAYS} and {MAX_INTERVAL_DAYS}"]})
    schedule = db.session.scalar(select(CategorySchedule).where(CategorySchedule.category == category))
    if schedule is None:
        schedule = CategorySchedule(category=category, interval_days=interval_days)
        db.session.add(schedule)
        db.session.flush()
        previous = DEFAULT_CATEGORY_INTERVAL_DAYS[category]
    else:
        previous = schedule.interval_days
        schedule.interval_days = interval_days
    record_audit(actor, "schedule_changed", schedule, category=category, before=previous, after=interval_days)
    db.session.commit()
    return schedule
