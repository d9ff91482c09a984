"""Writing the audit log."""

from flask import has_request_context, request

from extensions import db
from models import AuditEvent, User


def record_audit(actor: User | None, action: str, obj=None, **details) -> AuditEvent:
    """Add an audit event to the current transaction; the caller's commit makes it durable with the act."""
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        action=action,
        object_type=type(obj).__tablename__ if obj is not None else None,
        object_id=getattr(obj, "id", None),
        details=details,
        ip=request.remote_addr if has_request_context() else None,
    )
    db.session.add(event)
    return event
