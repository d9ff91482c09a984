"""Finding beneficiaries: scoped, by name, pinyin initials or ID number, nearest first, or only those due a visit.

One rule reads a search term, for the phone API and the admin's registry list alike (search_condition): a full
ID number (18 characters) is found by its keyed HMAC, the last 4, 5 or 6 characters of one (digits, with an X
at the end) by the keyed HMAC of that tail, anything else as part of a name or the start of its initials.
Digits never occur in a name, so a term of digits is never also a name search.

Every person comes with their last visit and their visit schedule (services.coverage: interval, last
approved visit, next due date, days overdue, whether a visit awaits review). The due list is
services.reporting.coverage.due_beneficiaries_query: people whose next due date is today or earlier in local time
(overdue or due today), most urgent first — people with a visit awaiting review after the others,
then the most overdue — or nearest first when a point is given, urgency breaking ties.

Pages are keyset-paginated on the sort key, so a page costs the same however deep the worker scrolls, and a
page is a constant number of queries whatever its size (people, their categories, their last visits, their
schedules).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Row, Select, case, func, literal, or_, select, tuple_
from sqlalchemy.orm import joinedload

from extensions import db
from models import Beneficiary, User, Visit, id_numbers, utcnow
from models.enums import BeneficiaryStatus
from services.geo import distance_m
from services.pagination import decode_cursor, encode_cursor, split_page
from services.permissions import scope_beneficiaries
from services.reporting.coverage import DueStatus, due_beneficiaries_query, due_statuses, due_statuses_of, urgency_key
from services.reporting.schedules import local_date

NAME_ORDER = "name"
NEAR_ORDER = "near"
DUE_ORDER = "due"
DUE_NEAR_ORDER = "due_near"

# A search term that is a whole ID number, or its last 4–6 characters (the check character X only at the end).
FULL_ID_NUMBER = re.compile(r"\d{17}[\dX]", re.ASCII)
ID_NUMBER_TAIL = re.compile(r"\d{4,6}|\d{3,5}X", re.ASCII)


@dataclass(frozen=True)
class BeneficiaryHit:
    """One person of a result page, with what the page computed about them."""

    beneficiary: Beneficiary
    age: int | None
    distance_m: float | None
    last_visit: Row | None
    schedule: DueStatus | None


@dataclass(frozen=True)
class BeneficiaryPage:
    items: list[BeneficiaryHit]
    next_cursor: str | None


def age_on(birth_date: date | None, today: date) -> int | None:
    """Whole years from birth_date to today; None when the birth date is unknown."""
    if birth_date is None:
        return None
    had_birthday = (today.month, today.day) >= (birth_date.month, birth_date.day)
    return today.year - birth_date.year - (0 if had_birthday else 1)


def _name_matches(q: str):
    """Substring of the name, or a prefix of its pinyin initials ("zxm" finds 张小明), both case-insensitive."""
    needle = q.strip().lower()
    return or_(
        func.lower(Beneficiary.name).contains(needle, autoescape=True),
        func.lower(Beneficiary.name_initials).startswith(needle, autoescape=True),
    )


def id_number_condition(term: str):
    """SQL finding people by a term that is a full ID number or its last 4–6 characters; None for other terms.

    Both are equalities on an indexed keyed-HMAC column (models.id_numbers), so a search among 200,000
    people is one index lookup and the number is never compared in clear.
    """
    # Chinese input methods may type full-width digits (１２３４): NFKC makes them the ASCII ones stored.
    term = id_numbers.normalise(unicodedata.normalize("NFKC", term))
    if FULL_ID_NUMBER.fullmatch(term):
        return Beneficiary.id_number == term
    if ID_NUMBER_TAIL.fullmatch(term):
        return getattr(Beneficiary, id_numbers.tail_column(len(term))) == id_numbers.tail_hmac(term)
    return None


def search_condition(q: str):
    """SQL finding people by a search term: by ID number or its tail when it is one, else by name or initials."""
    by_id_number = id_number_condition(q)
    return by_id_number if by_id_number is not None else _name_matches(q)


def _proximity(latitude: float, longitude: float):
    """A SQL expression ordering homes by distance from a point: squared equirectangular degrees.

    Plain arithmetic runs the same on SQLite and PostgreSQL; within a county it orders exactly as the
    haversine distance does. Homes without a location get 0 here and are sorted last by the caller.
    """
    longitude_scale = math.cos(math.radians(latitude))
    d_lat = Beneficiary.home_latitude - literal(latitude)
    d_lon = (Beneficiary.home_longitude - literal(longitude)) * literal(longitude_scale)
    return func.coalesce(d_lat * d_lat + d_lon * d_lon, literal(0.0))


def _last_visits(beneficiary_ids: list[int]) -> dict[int, Row]:
    """The most recent visit to each of these people (by anyone), in one query."""
    if not beneficiary_ids:
        return {}
    ranked = (
        select(
            Visit.id, Visit.beneficiary_id, Visit.kind, Visit.started_at, Visit.status,
            func.row_number()
            .over(partition_by=Visit.beneficiary_id, order_by=(Visit.started_at.desc(), Visit.id.desc()))
            .label("recency"),
        )
        .where(Visit.beneficiary_id.in_(beneficiary_ids))
        .subquery()
    )
    rows = db.session.execute(
        select(ranked.c.id, ranked.c.beneficiary_id, ranked.c.kind, ranked.c.started_at, ranked.c.status)
        .where(ranked.c.recency == 1)
    )
    return {row.beneficiary_id: row for row in rows}


def search_beneficiaries(user: User, *, q: str | None = None, near: tuple[float, float] | None = None,
                         due: bool = False, limit: int = 50, cursor: str | None = None) -> BeneficiaryPage:
    """One page of the active beneficiaries in the user's scope, filtered by q (search_condition), nearest first
    when near is given.

    Without near the order is by pinyin initials, then name; with near, by distance from home, people
    without a registered home last. With `due`, only the people due a visit today or overdue (local
    calendar), most urgent first (see the module docstring); with near as well, nearest first. Each
    item carries age, distance, the last visit and the schedule.
    """
    as_of = utcnow()
    if due:
        statement = due_beneficiaries_query(user, as_of).order_by(None)
    else:
        statement = scope_beneficiaries(select(Beneficiary).where(Beneficiary.status == BeneficiaryStatus.ACTIVE), user)
    statement = statement.options(joinedload(Beneficiary.station), joinedload(Beneficiary.service_point))
    if q and q.strip():
        statement = statement.where(search_condition(q))

    order, key_columns, key_types = _sort_key(statement, near, due)
    # Result rows are the statement's own columns, then the sort key (which the next cursor carries).
    key_start = len(statement.column_descriptions)
    statement = statement.add_columns(*(column.label(f"sort_key_{i}") for i, column in enumerate(key_columns)))
    if cursor:
        statement = statement.where(tuple_(*key_columns) > tuple_(*decode_cursor(cursor, order, key_types)))
    statement = statement.order_by(*key_columns).limit(limit + 1)

    rows, has_more = split_page(db.session.execute(statement).all(), limit)
    next_cursor = encode_cursor(order, list(rows[-1][key_start:])) if has_more else None

    people = [row[0] for row in rows]
    if due:
        # The due statement already computed every schedule column; no second look at the visits.
        schedules = {status.beneficiary.id: status for status in due_statuses(row[:key_start] for row in rows)}
    else:
        schedules = due_statuses_of(people, as_of)
    last_visits = _last_visits([person.id for person in people])
    today = local_date(as_of)
    items = [
        BeneficiaryHit(
            beneficiary=person,
            age=age_on(person.birth_date, today),
            distance_m=_distance_from(near, person),
            last_visit=last_visits.get(person.id),
            schedule=schedules.get(person.id),
        )
        for person in people
    ]
    return BeneficiaryPage(items=items, next_cursor=next_cursor)


def _sort_key(statement: Select, near: tuple[float, float] | None, due: bool) -> tuple[str, tuple, tuple]:
    """The order's name, its key columns (ending with the id, so keys are unique) and their cursor types."""
    if near is not None:
        home_missing = case((Beneficiary.home_latitude.is_(None) | Beneficiary.home_longitude.is_(None), 1), else_=0)
        if due:
            return (DUE_NEAR_ORDER,
                    (home_missing, _proximity(*near), *urgency_key(statement.selected_columns), Beneficiary.id),
                    (int, float, int, int, int))
        return NEAR_ORDER, (home_missing, _proximity(*near), Beneficiary.id), (int, float, int)
    if due:
        return DUE_ORDER, (*urgency_key(statement.selected_columns), Beneficiary.id), (int, int, int)
    return NAME_ORDER, (Beneficiary.name_initials, Beneficiary.name, Beneficiary.id), (str, str, int)


def _distance_from(near: tuple[float, float] | None, beneficiary: Beneficiary) -> float | None:
    if near is None or not beneficiary.has_home_location:
        return None
    return round(distance_m(near[0], near[1], beneficiary.home_latitude, beneficiary.home_longitude), 1)

