"""Readiness: can this app server reach what every request needs — the database and the photo store."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from extensions import db
from services.storage import get_storage

# The database is down, restarting, out of connections or locked: worth a retry shortly, not a 500 (the API's
# and the admin's error handlers answer these with a 503 and Retry-After).
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError, PoolTimeoutError)
RETRY_AFTER_SECONDS = "30"


def readiness() -> dict[str, str]:
    """Each dependency's state, "ok" or "unreachable"; failures are logged (without secrets), never raised."""
    return {"database": _state("database", _ping_database), "storage": _state("storage", _ping_storage)}


def _ping_database() -> None:
    try:
        db.session.execute(text("SELECT 1"))
    finally:
        db.session.rollback()


def _ping_storage() -> None:
    get_storage().check()


def _state(name: str, ping) -> str:
    try:
        ping()
    except Exception as error:  # any failure means not ready; the balancer only needs the verdict
        current_app.logger.warning("readiness: %s unreachable: %s", name, type(error).__name__)
        return "unreachable"
    return "ok"
