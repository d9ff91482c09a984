"""The API's one error shape: {"error": {"code", "message", "fields"}} with the right status.

The handlers only render: whatever a refused or failed request left uncommitted is discarded when the
request ends (factory.py, one request, one transaction).
"""

from flask import Flask, current_app, jsonify, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from services.errors import ServiceError
from services.health import DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    503: "service_unavailable",
}


def error_response(status: int, code: str, message: str, fields: dict | None = None, headers=None):
    """Build a JSON error response."""
    body = {"error": {"code": code, "message": message}}
    if fields:
        body["error"]["fields"] = fields
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def flatten_messages(messages, prefix: str = "") -> dict[str, list[str]]:
    """Turn marshmallow's nested messages into {"location.latitude": ["..."]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                flat.update(flatten_messages(value, name))
            else:
                flat[name] = [str(item) for item in (value if isinstance(value, list) else [value])]
    else:
        flat[prefix or "_schema"] = [str(item) for item in messages]
    return flat


def _is_api_request() -> bool:
    return request.path.startswith("/api/")


def register_api_error_handlers(app: Flask) -> None:
    """Render errors under /api/ as JSON; other paths keep Flask's pages."""

    @app.errorhandler(ServiceError)
    def handle_service_error(error: ServiceError):
        if not _is_api_request():
            return error.message, error.status
        return error_response(error.status, error.code, error.message, error.fields, error.headers)

    @app.errorhandler(ValidationError)
    def handle_validation_error(error: ValidationError):
        return error_response(422, "validation_error", "请求内容有误",
                              flatten_messages(error.messages))

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        if not _is_api_request():
            return error
        status = error.code or 500
        headers = {}
        valid_methods = getattr(error, "valid_methods", None)
        if status == 405 and valid_methods:
            headers["Allow"] = ", ".join(valid_methods)
        return error_response(status, _HTTP_CODES.get(status, "error"), error.description or error.name,
                              headers=headers)

    def handle_database_unavailable(error: Exception):
        # One line, no statement or parameters: the outage is the news, not the query that met it.
        current_app.logger.warning("database unavailable on %s %s: %s", request.method, request.path,
                                   type(getattr(error, "orig", None) or error).__name__)
        headers = {"Retry-After": RETRY_AFTER_SECONDS}
        if _is_api_request():
            return error_response(503, "service_unavailable", "服务暂时不可用，请稍后重试", headers=headers)
        return "服务暂时不可用，请稍后重试 Service temporarily unavailable", 503, headers

    for error_class in DATABASE_UNAVAILABLE:
        app.register_error_handler(error_class, handle_database_unavailable)

    @app.errorhandler(Exception)
    def handle_unexpected(_error: Exception):
        current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if _is_api_request():
            return error_response(500, "internal_error", "服务器内部错误，请稍后重试")
        return "Internal Server Error", 500
