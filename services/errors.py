"""Errors raised by services; the API renders them as its JSON error shape, the admin as messages.

Words are chosen at the edge: a refusal carries a stable `code` and the numbers and names it is about
(`params`), so the admin translates it by code into the page's language (admin/messages.py). `message`
is the Chinese sentence the phone API has always sent as `error.message`; the phone shows it as is.
"""

from collections.abc import Mapping


class ServiceError(Exception):
    """A refusal with an HTTP status, a stable code and its parameters, a message and optional field details."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, params: Mapping | None = None,
                 fields: dict | None = None, headers: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.params = dict(params or {})
        self.fields = fields or {}
        self.headers = headers or {}


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class PayloadTooLarge(ServiceError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(ServiceError):
    status = 415
    code = "unsupported_media_type"


class Invalid(ServiceError):
    status = 422
    code = "validation_error"


class TooManyRequests(ServiceError):
    status = 429
    code = "too_many_requests"


class ServiceUnavailable(ServiceError):
    status = 503
    code = "service_unavailable"


class BadGateway(ServiceError):
    status = 502
    code = "bad_gateway"
