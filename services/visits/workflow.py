"""The review state machine of a visit: which transitions exist, and applying one exactly once.

submitted → approved | rejected | returned; returned → submitted (the worker resubmits);
approved | rejected → submitted (a reviewer reopens, with a reason). Both the API and the admin go
through transition(), so the rules are written once.

These are helpers of the public review and submission services: they add and flush, and never commit or
roll back; the calling service commits the whole unit (field changes, warnings and the transition together).
"""

from __future__ import annotations

from sqlalchemy import update

from extensions import db
from models import ReviewEvent, User, Visit, utcnow
from models.enums import VisitStatus
from services.audit import record_audit
from services.errors import Conflict, Invalid

# action: (the statuses it may start from, the status it leads to)
TRANSITIONS: dict[str, tuple[frozenset[VisitStatus], VisitStatus]] = {
    "approve": (frozenset({VisitStatus.SUBMITTED}), VisitStatus.APPROVED),
    "reject": (frozenset({VisitStatus.SUBMITTED}), VisitStatus.REJECTED),
    "return": (frozenset({VisitStatus.SUBMITTED}), VisitStatus.RETURNED),
    "reopen": (frozenset({VisitStatus.APPROVED, VisitStatus.REJECTED}), VisitStatus.SUBMITTED),
    "resubmit": (frozenset({VisitStatus.RETURNED}), VisitStatus.SUBMITTED),
}
COMMENT_REQUIRED = frozenset({"reject", "return", "reopen"})
REVIEWER_ACTIONS = frozenset({"approve", "reject", "return", "reopen"})


def record_submission(visit: Visit, worker: User) -> ReviewEvent:
    """Log the first submission of a visit (in the caller's transaction)."""
    event = ReviewEvent(visit=visit, actor_id=worker.id, action="submit", from_status=None,
                        to_status=VisitStatus.SUBMITTED, revision=visit.revision)
    db.session.add(event)
    return event


def transition(visit: Visit, action: str, actor: User, comment: str | None = None) -> ReviewEvent:
    """Move a visit along one transition, exactly once even when two requests race.

    The status change is a conditional UPDATE on the status the caller saw: if another request got
    there first, no row matches and Conflict is raised, so a visit is never transitioned twice.
    The caller commits (so field changes, warnings and the transition land together); on a refusal
    nothing has been written here, and the caller's transaction is left for it (or the request) to end.
    """
    if action not in TRANSITIONS:
        raise Invalid(f"未知操作 {action}", code="unknown_action", params={"action": action})
    allowed_from, to_status = TRANSITIONS[action]
    comment = (comment or "").strip() or None
    if action in COMMENT_REQUIRED and not comment:
        raise Invalid("请填写意见或原因", code="comment_required", fields={"comment": ["required"]})
    seen_status = visit.status
    if seen_status not in allowed_from:
        raise Conflict(f"当前状态不能执行此操作（{seen_status}）", code="invalid_transition",
                       params={"status": seen_status, "action": action})

    now = utcnow()
    values: dict = {"status": to_status, "updated_at": now}
    if action == "resubmit":
        values["revision"] = Visit.revision + 1
    elif action in ("approve", "reject", "return"):
        values.update(reviewer_id=actor.id, reviewed_at=now, review_comment=comment)
    elif action == "reopen":
        # The earlier decision no longer stands; it stays in the review history.
        values.update(reviewer_id=None, reviewed_at=None, review_comment=None)
    result = db.session.execute(
        update(Visit)
        .where(Visit.id == visit.id, Visit.status == seen_status)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict("该记录已被他人处理，请刷新后查看", code="visit_state_changed")
    db.session.refresh(visit)

    event = ReviewEvent(visit_id=visit.id, actor_id=actor.id, action=action, from_status=seen_status,
                        to_status=to_status, revision=visit.revision, comment=comment, created_at=now)
    db.session.add(event)
    if action in REVIEWER_ACTIONS:
        record_audit(actor, "visit_reviewed", visit, review_action=action, from_status=seen_status,
                     to_status=to_status, comment=comment)
    return event
