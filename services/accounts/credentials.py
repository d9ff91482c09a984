"""Credentials: passwords, login with throttling, API tokens.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from extensions import db
from models import ApiToken, LoginAttempt, User, utcnow
from services.audit import record_audit
from services.errors import Invalid, TooManyRequests, Unauthorized

# Compared against when the username is unknown, so both paths cost one KDF run (no timing oracle).
_DUMMY_HASH = generate_password_hash("zoufang-dummy-password")
MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True)
class IssuedLogin:
    """A login's result: the raw bearer token (shown once), its row and the user."""

    raw_token: str
    token: ApiToken
    user: User


def hash_password(password: str) -> str:
    """Hash a password with werkzeug's scrypt KDF."""
    return generate_password_hash(password)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(f"密码至少 {MIN_PASSWORD_LENGTH} 位", code="password_too_short",
                      params={"limit": MIN_PASSWORD_LENGTH}, fields={"password": ["too short"]})


def _normalise_username(username: str) -> str:
    return username.strip().lower()[:64]


def _throttle_retry_after(username: str, now: datetime) -> int | None:
    """Seconds the username must wait, or None when it may try."""
    config = current_app.config
    window_start = now - config["LOGIN_FAILURE_WINDOW"]
    last_success = db.session.scalar(
        select(func.max(LoginAttempt.created_at)).where(
            LoginAttempt.username == username, LoginAttempt.succeeded.is_(True),
            LoginAttempt.created_at >= window_start,
        )
    )
    since = max(window_start, last_success) if last_success else window_start
    failures = db.session.scalars(
        select(LoginAttempt.created_at)
        .where(LoginAttempt.username == username, LoginAttempt.succeeded.is_(False),
               LoginAttempt.created_at >= since)
        .order_by(LoginAttempt.created_at.desc())
        .limit(config["LOGIN_MAX_FAILURES"])
    ).all()
    if len(failures) < config["LOGIN_MAX_FAILURES"]:
        return None
    oldest_counted = failures[-1]
    wait = (oldest_counted + config["LOGIN_FAILURE_WINDOW"] - now).total_seconds()
    return max(1, math.ceil(wait))


def _checked_user(username: str, password: str, ip: str | None,
                  allowed_roles: frozenset[str] | None) -> User:
    """The user a username and password prove, throttled per username, the attempt and its audit row added.

    Every attempt is logged in the database, so the limit holds across gunicorn workers. The one
    exception to "helpers only flush": a failed attempt is committed before Unauthorized is raised,
    since the refusal ends the request's transaction and the throttle must still count it.
    """
    key = _normalise_username(username)
    now = utcnow()
    retry_after = _throttle_retry_after(key, now)
    if retry_after is not None:
        raise TooManyRequests("登录失败次数过多，请稍后再试", code="too_many_attempts",
                              headers={"Retry-After": str(retry_after)})
    user = db.session.scalar(select(User).where(func.lower(User.username) == key))
    valid = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    ok = bool(user and valid and user.active and (allowed_roles is None or user.role in allowed_roles))
    db.session.add(LoginAttempt(username=key, succeeded=ok, ip=ip, created_at=now))
    if not ok:
        record_audit(user, "login_failed", user, username=key)
        db.session.commit()
        raise Unauthorized("用户名或密码错误", code="invalid_credentials")
    record_audit(user, "login", user)
    return user


def authenticate(username: str, password: str, *, ip: str | None = None,
                 allowed_roles: frozenset[str] | None = None) -> User:
    """Check a username and password (the admin site's login), throttled per username; return the user or raise."""
    user = _checked_user(username, password, ip, allowed_roles)
    db.session.commit()
    return user


def log_in(username: str, password: str, *, ip: str | None = None) -> IssuedLogin:
    """The phone's password login: the checks of authenticate, then a bearer token, in one transaction."""
    issued = add_token(_checked_user(username, password, ip, None))
    db.session.commit()
    return issued


def _token_digest(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


def add_token(user: User) -> IssuedLogin:
    """Add an API token for the user to the caller's transaction (the caller commits); the raw token is shown once."""
    raw = secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        token_hash=_token_digest(raw),
        expires_at=utcnow() + current_app.config["API_TOKEN_LIFETIME"],
    )
    db.session.add(token)
    db.session.flush()
    return IssuedLogin(raw_token=raw, token=token, user=user)


def issue_token(user: User) -> tuple[str, ApiToken]:
    """Create an API token for the user; return the raw token (shown once) and its row."""
    issued = add_token(user)
    db.session.commit()
    return issued.raw_token, issued.token


def user_for_token(raw_token: str) -> tuple[User, ApiToken]:
    """Resolve a bearer token to its active user, or raise Unauthorized."""
    if not raw_token or len(raw_token) > 256:
        raise Unauthorized("无效的登录凭证", code="invalid_token")
    # Every API request starts here: the token and its user come in one statement.
    found = db.session.execute(
        select(ApiToken, User).join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == _token_digest(raw_token))
    ).first()
    token, user = found if found is not None else (None, None)
    now = utcnow()
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        raise Unauthorized("登录已失效，请重新登录", code="invalid_token")
    if not user.active:
        raise Unauthorized("账号已停用", code="invalid_token")
    return user, token


def revoke_token(token: ApiToken) -> None:
    """Revoke one token (logout)."""
    token.revoked_at = utcnow()
    db.session.commit()


def revoke_all_tokens(user: User) -> None:
    """Revoke every live token of a user, within the caller's transaction."""
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )

