"""Each person's schedule state, kept on their row: required interval, last approved counting visit, next due day.

Due lists, overdue lists and coverage read these indexed columns instead of aggregating the visits, so
their cost follows the people listed, never visits × people. The state moves only when one of its inputs
moves, and it is recomputed in the transaction of that change:

- a visit is approved or reopened (services.visits.workflow.transition, a Core UPDATE: it calls
  refresh_schedule_state itself);
- any ORM write of a visit that is or was approved, of a person's risk tier, registration time or
  categories, or of a category's interval (CategorySchedule): caught at flush by the listeners below, so
  the admin forms, the CLI, the demo and test factories cannot forget it;
- Core bulk writes (the roster import, the volume generator) call refresh_schedule_state or
  rebuild_schedule_state themselves.

`flask --app wsgi schedules rebuild` recomputes every row from the visits (after a change of TIMEZONE,
a restore, or a bulk load by hand); the result is the same as what the keeper maintains.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from sqlalchemy import Connection, and_, case, event, exists, func, literal, or_, select, update
from sqlalchemy.orm import Session, attributes

from extensions import db
from models import Beneficiary, BeneficiaryCategory, CategorySchedule, Visit
from models.enums import DEFAULT_CATEGORY_INTERVAL_DAYS, KINDS_WITH_BENEFICIARY
from services.reporting.schedules import (
    FALLBACK_CATEGORY,
    category_interval_case,
    local_day_of,
    risk_tier_interval_case,
)

# Kinds of visit that count as a visit to the person (see services.reporting.coverage).
COUNTING_KINDS = KINDS_WITH_BENEFICIARY
STATE_ATTRIBUTES = ("schedule_interval_days", "last_approved_visit_at", "next_due_day")
# Ids per UPDATE: well under SQLite's bound-parameter limit.
ID_CHUNK = 500
_PENDING_KEY = "zoufang_schedule_state_pending"
_VISIT_INPUTS = ("status", "beneficiary_id", "started_at", "kind")
_PERSON_INPUTS = ("risk_tier", "created_at")


def _category_days(category_column):
    """SQL: a category's interval — the admin's CategorySchedule row, else the default (no query of its own)."""
    override = (
        select(CategorySchedule.interval_days)
        .where(CategorySchedule.category == category_column)
        .scalar_subquery()
    )
    return func.coalesce(override, category_interval_case(category_column, dict(DEFAULT_CATEGORY_INTERVAL_DAYS)))


def _refresh_where(connection: Connection, condition) -> None:
    """Recompute the state of the people matching `condition` (two UPDATEs: the second reads the first's values)."""
    strictest_category = (
        select(func.min(_category_days(BeneficiaryCategory.category)))
        .where(BeneficiaryCategory.beneficiary_id == Beneficiary.id)
        .scalar_subquery()
    )
    last_approved = (
        select(func.max(Visit.started_at))
        .where(Visit.beneficiary_id == Beneficiary.id, Visit.status == "approved", Visit.kind.in_(COUNTING_KINDS))
        .scalar_subquery()
    )
    connection.execute(
        update(Beneficiary).where(condition).values(
            schedule_interval_days=func.coalesce(strictest_category, _category_days(literal(FALLBACK_CATEGORY))),
            last_approved_visit_at=last_approved,
        ).execution_options(synchronize_session=False)
    )
    risk_days = risk_tier_interval_case(Beneficiary.risk_tier)
    # A risk tier only ever tightens the category's interval; a NULL tier compares false.
    interval = case((risk_days < Beneficiary.schedule_interval_days, risk_days),
                    else_=Beneficiary.schedule_interval_days)
    connection.execute(
        update(Beneficiary).where(condition).values(
            schedule_interval_days=interval,
            next_due_day=func.coalesce(local_day_of(Beneficiary.last_approved_visit_at) + interval,
                                       local_day_of(Beneficiary.created_at)),
        ).execution_options(synchronize_session=False)
    )


def refresh_schedule_state(beneficiary_ids: Iterable[int] = (), categories: Collection[str] = (), *,
                           connection: Connection | None = None) -> None:
    """Recompute the kept state of some people, and of everyone in some categories, in the current transaction.

    Does not commit: the caller's unit of work does, so the state lands with the change that moved it.
    """
    connection = connection or db.session.connection()
    ids = sorted({beneficiary_id for beneficiary_id in beneficiary_ids if beneficiary_id is not None})
    for start in range(0, len(ids), ID_CHUNK):
        _refresh_where(connection, Beneficiary.id.in_(ids[start:start + ID_CHUNK]))
    if categories:
        in_categories = exists().where(BeneficiaryCategory.beneficiary_id == Beneficiary.id,
                                       BeneficiaryCategory.category.in_(sorted(categories)))
        if FALLBACK_CATEGORY in categories:
            # People without any category follow the fallback's interval.
            uncategorised = ~exists().where(BeneficiaryCategory.beneficiary_id == Beneficiary.id)
            in_categories = or_(in_categories, uncategorised)
        _refresh_where(connection, in_categories)


def rebuild_schedule_state() -> int:
    """Recompute every person's schedule state from the visits and commit; return how many people there are."""
    _refresh_where(db.session.connection(), and_(Beneficiary.id.is_not(None)))
    count = db.session.scalar(select(func.count(Beneficiary.id)))
    db.session.commit()
    db.session.expire_all()
    return count or 0


# --- keeping it at every ORM flush --------------------------------------------------------------------------


def _history_values(obj, name: str) -> list:
    history = attributes.get_history(obj, name)
    return [*history.added, *history.unchanged, *history.deleted]


def _changed(obj, names: Iterable[str]) -> bool:
    return any(attributes.get_history(obj, name).has_changes() for name in names)


@event.listens_for(Session, "after_flush")
def _collect_schedule_inputs(session: Session, _context) -> None:
    """Note the people (and categories) whose schedule inputs this flush wrote; refreshed right after it."""
    people: set[int] = set()
    categories: set[str] = set()
    for obj in [*session.new, *session.dirty, *session.deleted]:
        if isinstance(obj, Visit):
            statuses = _history_values(obj, "status")
            touched = obj in session.new or obj in session.deleted or _changed(obj, _VISIT_INPUTS)
            if touched and "approved" in statuses:
                people.update(_history_values(obj, "beneficiary_id"))
        elif isinstance(obj, Beneficiary):
            if obj in session.new or _changed(obj, _PERSON_INPUTS):
                people.add(obj.id)
        elif isinstance(obj, BeneficiaryCategory):
            people.update(_history_values(obj, "beneficiary_id"))
        elif isinstance(obj, CategorySchedule) and (
                obj in session.new or obj in session.deleted or _changed(obj, ("interval_days", "category"))):
            categories.update(_history_values(obj, "category"))
    people.discard(None)
    if people or categories:
        pending = session.info.setdefault(_PENDING_KEY, (set(), set()))
        pending[0].update(people)
        pending[1].update(categories)


@event.listens_for(Session, "after_flush_postexec")
def _refresh_after_flush(session: Session, _context) -> None:
    pending = session.info.pop(_PENDING_KEY, None)
    if not pending:
        return
    people, categories = pending
    refresh_schedule_state(people, categories, connection=session.connection())
    # Objects already loaded would keep their old state until the commit expires them.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Beneficiary) and (categories or obj.id in people):
            session.expire(obj, STATE_ATTRIBUTES)
