"""A person's page: who they are, where they stand against their visit schedule, and their visits.

Everything the admin's beneficiary page shows is gathered here in a constant number of queries, however
many visits the person has had: the person (with station, service point and categories), the schedule
(services.reporting.coverage), one page of visits with their workers, and the count of all visits.
The history is keyset-paginated, latest first, so the page costs the same years into a person's record.
Who may see what is the permissions' rule: the person within the user's stations (else NotFound: their
existence is private), and among their visits those the user may see (a supervisor, their stations').
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import joinedload, selectinload

from extensions import db
from models import Beneficiary, User, Visit, utcnow
from models.user import shown_name
from services.errors import NotFound
from services.pagination import decode_cursor, encode_cursor, split_page
from services.permissions import scope_beneficiaries, scope_visits
from services.reporting.coverage import DueStatus, due_statuses_of

HISTORY_PAGE_SIZE = 50
HISTORY_ORDER = "person_history"


@dataclass(frozen=True)
class HistoryVisit:
    """One visit of a person's history, as the page lists it."""

    id: int
    kind: str
    status: str
    started_at: datetime
    worker_name: str
    warning_count: int


@dataclass(frozen=True)
class BeneficiaryProfile:
    """A person with their schedule (None once their file is closed) and one page of their visits, latest first."""

    beneficiary: Beneficiary
    schedule: DueStatus | None
    visits: list[HistoryVisit]
    # Every visit to the person the user may see, not only this page's.
    visit_total: int
    # The cursor of the next (older) page, None on the last one; whether this page is the latest.
    older_cursor: str | None
    latest_page: bool


def beneficiary_profile(user: User, beneficiary_id: int, *, cursor: str | None = None,
                        limit: int = HISTORY_PAGE_SIZE, as_of: datetime | None = None) -> BeneficiaryProfile:
    """The person's page for this user: fields, schedule as of `as_of` (now), and the page of visits after `cursor`.

    Raises NotFound when the person is not in the user's scope, Invalid (invalid_cursor) for a bad cursor.
    Five queries whatever the number of visits.
    """
    as_of = as_of or utcnow()
    person = db.session.scalar(
        scope_beneficiaries(select(Beneficiary).where(Beneficiary.id == beneficiary_id), user)
        .options(joinedload(Beneficiary.station), joinedload(Beneficiary.service_point),
                 selectinload(Beneficiary.category_rows))
    )
    if person is None:
        raise NotFound("服务对象不存在", code="beneficiary_not_found")
    schedule = due_statuses_of([person], as_of).get(person.id)
    visits, older_cursor = _history_page(user, person.id, cursor, limit)
    return BeneficiaryProfile(beneficiary=person, schedule=schedule, visits=visits,
                              visit_total=_visit_total(user, person.id), older_cursor=older_cursor,
                              latest_page=cursor is None)


def _visits_of(statement, user: User, beneficiary_id: int):
    return scope_visits(statement.where(Visit.beneficiary_id == beneficiary_id), user)


def _history_page(user: User, beneficiary_id: int, cursor: str | None,
                  limit: int) -> tuple[list[HistoryVisit], str | None]:
    """One page of the person's visits, latest start first (ties: the later id), in one query."""
    statement = _visits_of(
        select(Visit.id, Visit.kind, Visit.status, Visit.started_at, shown_name(User), Visit.warning_count)
        .join(User, User.id == Visit.worker_id), user, beneficiary_id)
    if cursor:
        started_at, visit_id = decode_cursor(cursor, HISTORY_ORDER, (datetime, int))
        statement = statement.where(tuple_(Visit.started_at, Visit.id) < tuple_(started_at, visit_id))
    rows, has_more = split_page(
        db.session.execute(statement.order_by(Visit.started_at.desc(), Visit.id.desc()).limit(limit + 1)).all(),
        limit)
    visits = [HistoryVisit(*row) for row in rows]
    older = encode_cursor(HISTORY_ORDER, [visits[-1].started_at, visits[-1].id]) if has_more else None
    return visits, older


def _visit_total(user: User, beneficiary_id: int) -> int:
    return db.session.scalar(_visits_of(select(func.count(Visit.id)), user, beneficiary_id))
