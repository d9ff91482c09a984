"""One JSON line per request, with a request id the client also gets back as X-Request-ID.

The line holds what operations need to follow a request across the proxy and the app servers — id,
method, route, status, duration, the numeric user id — and nothing personal: no query string (searches
carry names and ID numbers), no body, no client address, no username.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, Response, g, request
from sqlalchemy import inspect as sa_inspect

REQUEST_ID_HEADER = "X-Request-ID"
# What nginx's $request_id and common tracers send; anything else is replaced rather than logged.
_ACCEPTED_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
LOGGER_NAME = "zoufang.requests"


class _MessageOnly(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return record.getMessage()


def request_logger() -> logging.Logger:
    """The request logger: JSON lines on standard error (gunicorn's and systemd's log), set up once."""
    logger = logging.getLogger(LOGGER_NAME)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_MessageOnly())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


def init_request_logging(app: Flask) -> None:
    """Give every request an id (kept from a trusted proxy's X-Request-ID) and log it when answered."""
    logger = request_logger()

    @app.before_request
    def start_request() -> None:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if _ACCEPTED_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def log_request(response: Response) -> Response:
        request_id = g.get("request_id") or uuid.uuid4().hex
        response.headers[REQUEST_ID_HEADER] = request_id
        started = g.get("request_started")
        line = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "event": "request",
            "request_id": request_id,
            "method": request.method,
            "path": request.path,
            "route": request.url_rule.rule if request.url_rule is not None else None,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
            "user_id": _user_id(),
            "bytes_in": request.content_length,
        }
        logger.info(json.dumps(line, ensure_ascii=False, separators=(",", ":")))
        return response


def _user_id() -> int | None:
    """The id of whoever this request was made by, when already known; never loads anything for the log."""
    user = g.get("api_user") or g.get("_login_user")
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    identity = sa_inspect(user).identity
    return identity[0] if identity else None
