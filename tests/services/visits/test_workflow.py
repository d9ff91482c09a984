"""services.visits.workflow, table-driven from the review states of DESIGN.md.

submitted → approved | rejected | returned; returned → submitted (the worker resubmits); approved | rejected →
submitted (a reviewer reopens, with a reason). Every other (action, status) pair is refused.
"""

from itertools import product

import pytest
from sqlalchemy import func, select, update

from extensions import db
from models import AuditEvent, ReviewEvent, Visit
from services.errors import Conflict, Invalid
from services.visits.workflow import transition
from tests.factories import make_admin, make_reviewable_visit, make_station, make_supervisor, make_worker

STATUSES = ("submitted", "approved", "rejected", "returned")
ACTIONS = ("approve", "reject", "return", "reopen", "resubmit")
# The design's transitions, written out: (action, from status) -> to status. Nothing else is allowed.
ALLOWED = {
    ("approve", "submitted"): "approved",
    ("reject", "submitted"): "rejected",
    ("return", "submitted"): "returned",
    ("reopen", "approved"): "submitted",
    ("reopen", "rejected"): "submitted",
    ("resubmit", "returned"): "submitted",
}
REVIEWER_ACTIONS = {"approve", "reject", "return", "reopen"}


@pytest.fixture
def people(app):
    station = make_station()
    return {"worker": make_worker(station), "supervisor": make_supervisor(station)}


def _visit_in(status: str, worker) -> Visit:
    return make_reviewable_visit(worker, status=status)


def _count(model, **where) -> int:
    statement = select(func.count()).select_from(model)
    for column, value in where.items():
        statement = statement.where(getattr(model, column) == value)
    return db.session.scalar(statement)


@pytest.mark.parametrize(("action", "status"), list(product(ACTIONS, STATUSES)))
def test_transition_table(people, action, status):
    visit = _visit_in(status, people["worker"])
    actor = people["worker"] if action == "resubmit" else people["supervisor"]
    revision = visit.revision
    expected = ALLOWED.get((action, status))
    if expected is None:
        with pytest.raises(Conflict) as refused:
            transition(visit, action, actor, "理由充分")
        assert refused.value.code == "invalid_transition"
        db.session.commit()
        db.session.refresh(visit)
        assert visit.status == status and _count(ReviewEvent, visit_id=visit.id) == 0
        return
    event = transition(visit, action, actor, "理由充分")
    db.session.commit()
    db.session.refresh(visit)
    assert (visit.status, event.from_status, event.to_status) == (expected, status, expected)
    assert visit.revision == revision + (1 if action == "resubmit" else 0)
    audited = _count(AuditEvent, action="visit_reviewed", object_id=visit.id)
    assert audited == (1 if action in REVIEWER_ACTIONS else 0)
    decided = action in {"approve", "reject", "return"}
    assert (visit.reviewer_id == actor.id) == decided


@pytest.mark.parametrize(("action", "status"), [("reject", "submitted"), ("return", "submitted"),
                                                ("reopen", "approved")])
def test_a_comment_is_required_to_reject_return_and_reopen(people, action, status):
    visit = _visit_in(status, people["worker"])
    for blank in (None, "", "   "):
        with pytest.raises(Invalid) as refused:
            transition(visit, action, people["supervisor"], blank)
        assert refused.value.code == "comment_required"


def test_approval_needs_no_comment(people):
    visit = _visit_in("submitted", people["worker"])
    transition(visit, "approve", make_admin())
    db.session.commit()
    assert db.session.get(Visit, visit.id).status == "approved"


def test_unknown_action_is_refused(people):
    with pytest.raises(Invalid) as refused:
        transition(_visit_in("submitted", people["worker"]), "archive", people["supervisor"])
    assert refused.value.code == "unknown_action" and refused.value.params == {"action": "archive"}


def test_a_raced_transition_raises_and_leaves_the_callers_transaction_alone(people):
    """Someone else decided meanwhile: Conflict, nothing written, and the caller's own changes are not rolled back."""
    visit = _visit_in("submitted", people["worker"])
    visit.notes = "the caller's pending change"
    db.session.flush()
    # Another request approves it; this one still holds the visit as it saw it (submitted).
    db.session.execute(update(Visit).where(Visit.id == visit.id).values(status="approved")
                       .execution_options(synchronize_session=False))
    with pytest.raises(Conflict) as refused:
        transition(visit, "approve", people["supervisor"])
    assert refused.value.code == "visit_state_changed"
    assert db.session.scalar(select(Visit.notes).where(Visit.id == visit.id)) == "the caller's pending change"
    assert _count(ReviewEvent, visit_id=visit.id) == 0
    db.session.rollback()
