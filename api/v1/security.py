"""Bearer-token authentication for the phone API."""

from functools import wraps

from flask import g, request

from models import ApiToken, User
from services.accounts.credentials import user_for_token
from services.errors import Unauthorized


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("需要登录", code="missing_token")
    return value.strip()


def token_required(view):
    """Resolve the bearer token to g.api_user / g.api_token, or answer 401."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        g.api_user, g.api_token = user_for_token(_bearer_token())
        return view(*args, **kwargs)

    return wrapper


def current_user() -> User:
    """The user of the current API request."""
    return g.api_user


def current_token() -> ApiToken:
    """The token of the current API request."""
    return g.api_token
