"""Credentials: passwords, login with throttling, API tokens.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import case, delete, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from werkzeug.security import check_password_hash, generate_password_hash

from extensions import db
from models import ApiToken, LoginAttempt, LoginThrottle, User, utcnow
from models.types import UTCDateTime
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


def _throttle_keys(username: str, ip: str | None) -> dict[str, int]:
    """The counters an attempt is charged to, with their limits: this username from this address, and this
    address across usernames. Someone else's failures (another address) never lock a user out."""
    config = current_app.config
    address = (ip or "unknown")[:64]
    return {
        f"pair:{username}|{address}": config["LOGIN_MAX_FAILURES"],
        f"address:{address}": config["LOGIN_MAX_FAILURES_PER_ADDRESS"],
    }


def _charge(key: str, now: datetime) -> tuple[int, datetime]:
    """Count one attempt on a key in one atomic upsert; return its count and window start.

    A window older than LOGIN_FAILURE_WINDOW starts afresh. Concurrent attempts on the same key queue on
    its row, so each sees a distinct count and no more than the limit get through.
    """
    cutoff = now - current_app.config["LOGIN_FAILURE_WINDOW"]
    now_value = literal(now, UTCDateTime())
    expired = LoginThrottle.window_started_at <= literal(cutoff, UTCDateTime())
    insert = sqlite_insert if db.engine.dialect.name == "sqlite" else postgresql_insert
    statement = (
        insert(LoginThrottle)
        .values(key=key, failures=1, window_started_at=now)
        .on_conflict_do_update(index_elements=[LoginThrottle.key], set_={
            "failures": case((expired, 1), else_=LoginThrottle.failures + 1),
            "window_started_at": case((expired, now_value), else_=LoginThrottle.window_started_at),
        })
        .returning(LoginThrottle.failures, LoginThrottle.window_started_at)
    )
    failures, window_started_at = db.session.execute(statement).one()
    return failures, window_started_at


def _reserve_attempt(keys: dict[str, int], now: datetime) -> None:
    """Charge the attempt to every key before the password is checked, and commit at once (so the count holds
    for every app server); raise TooManyRequests when a key is past its limit."""
    retry_after = []
    for key, limit in keys.items():
        failures, window_started_at = _charge(key, now)
        if failures > limit:
            window_end = window_started_at + current_app.config["LOGIN_FAILURE_WINDOW"]
            retry_after.append(max(1, math.ceil((window_end - now).total_seconds())))
    db.session.commit()
    if retry_after:
        raise TooManyRequests("登录失败次数过多，请稍后再试", code="too_many_attempts",
                              headers={"Retry-After": str(max(retry_after))})


def _release_attempt(keys: dict[str, int]) -> None:
    """After a success: the pair starts afresh; the address is not charged for a right password."""
    pair_key, address_key = keys
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.key == pair_key))
    db.session.execute(update(LoginThrottle).where(LoginThrottle.key == address_key, LoginThrottle.failures > 0)
                       .values(failures=LoginThrottle.failures - 1))


def _checked_user(username: str, password: str, ip: str | None,
                  allowed_roles: frozenset[str] | None) -> User:
    """The user a username and password prove, throttled per (username, address) and per address, the attempt
    and its audit row added.

    The counters live in the database (atomic upserts), so the limits are exact under concurrency and hold
    across gunicorn workers and app servers. The exceptions to "helpers only flush": the attempt's charge is
    committed before the password is checked, and a failed attempt before Unauthorized is raised, since the
    refusal ends the request's transaction and the throttle must still count it.
    """
    key = _normalise_username(username)
    now = utcnow()
    keys = _throttle_keys(key, ip)
    _reserve_attempt(keys, now)
    user = db.session.scalar(select(User).where(func.lower(User.username) == key))
    valid = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    ok = bool(user and valid and user.active and (allowed_roles is None or user.role in allowed_roles))
    db.session.add(LoginAttempt(username=key, succeeded=ok, ip=ip, created_at=now))
    if not ok:
        record_audit(user, "login_failed", user, username=key)
        db.session.commit()
        raise Unauthorized("用户名或密码错误", code="invalid_credentials")
    _release_attempt(keys)
    record_audit(user, "login", user)
    return user


def authenticate(username: str, password: str, *, ip: str | None = None,
                 allowed_roles: frozenset[str] | None = None) -> User:
    """Check a username and password (the admin site's login), throttled (see _checked_user); return the user."""
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

