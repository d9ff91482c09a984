"""Accounts: passwords, login with throttling, API tokens, deactivation."""

from __future__ import annotations

import hashlib
import math
import secrets
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from extensions import db
from models import ApiToken, LoginAttempt, Station, User, utcnow
from models.enums import ROLES
from services.audit import record_audit
from services.errors import Invalid, NotFound, TooManyRequests, Unauthorized

# Compared against when the username is unknown, so both paths cost one KDF run (no timing oracle).
_DUMMY_HASH = generate_password_hash("zoufang-dummy-password")
MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    """Hash a password with werkzeug's scrypt KDF."""
    return generate_password_hash(password)


def _check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(f"密码至少 {MIN_PASSWORD_LENGTH} 位", fields={"password": ["too short"]})


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


def authenticate(username: str, password: str, *, ip: str | None = None,
                 allowed_roles: frozenset[str] | None = None) -> User:
    """Check a username and password, throttled per username; return the user or raise.

    Every attempt is logged in the database, so the limit holds across gunicorn workers.
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
    db.session.commit()
    return user


def _token_digest(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


def issue_token(user: User) -> tuple[str, ApiToken]:
    """Create an API token for the user; return the raw token (shown once) and its row."""
    raw = secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        token_hash=_token_digest(raw),
        expires_at=utcnow() + current_app.config["API_TOKEN_LIFETIME"],
    )
    db.session.add(token)
    db.session.commit()
    return raw, token


def user_for_token(raw_token: str) -> tuple[User, ApiToken]:
    """Resolve a bearer token to its active user, or raise Unauthorized."""
    if not raw_token or len(raw_token) > 256:
        raise Unauthorized("无效的登录凭证", code="invalid_token")
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_digest(raw_token)))
    now = utcnow()
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        raise Unauthorized("登录已失效，请重新登录", code="invalid_token")
    user = db.session.get(User, token.user_id)
    if user is None or not user.active:
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


def _stations_by_code(codes: list[str]) -> list[Station]:
    stations = []
    for code in codes:
        station = db.session.scalar(select(Station).where(Station.code == code))
        if station is None:
            raise NotFound(f"社工站 {code} 不存在", code="unknown_station")
        stations.append(station)
    return stations


def create_user(username: str, role: str, password: str, *, display_name: str = "",
                phone: str | None = None, station_codes: list[str] | None = None,
                actor: User | None = None) -> User:
    """Create an account; a worker belongs to exactly one station, a supervisor to one or more."""
    station_codes = station_codes or []
    if role not in ROLES:
        raise Invalid(f"未知角色 {role}", fields={"role": ["unknown role"]})
    username = username.strip()
    if not username or len(username) > 64:
        raise Invalid("用户名无效", fields={"username": ["1-64 characters"]})
    if db.session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        raise Invalid(f"用户名 {username} 已存在", code="username_taken", fields={"username": ["taken"]})
    _check_password_strength(password)
    stations = _stations_by_code(station_codes)
    if role == "worker" and len(stations) != 1:
        raise Invalid("社工须属于一个社工站", fields={"station": ["a worker needs exactly one station"]})
    if role == "supervisor" and not stations:
        raise Invalid("督导员须至少督导一个社工站", fields={"station": ["a supervisor needs stations"]})
    user = User(username=username, role=role, display_name=display_name or username, phone=phone,
                password_hash=hash_password(password), active=True)
    if role == "worker":
        user.station = stations[0]
    elif role == "supervisor":
        user.supervised_stations = stations
    db.session.add(user)
    db.session.flush()
    record_audit(actor, "user_created", user, username=username, role=role, stations=station_codes)
    db.session.commit()
    return user


def find_user(username: str) -> User:
    """The user with this username, or NotFound."""
    user = db.session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))
    if user is None:
        raise NotFound(f"用户 {username} 不存在", code="unknown_user")
    return user


def set_password(user: User, password: str, *, actor: User | None = None) -> None:
    """Set a new password; existing API tokens are revoked so a leaked one stops working."""
    _check_password_strength(password)
    user.password_hash = hash_password(password)
    revoke_all_tokens(user)
    record_audit(actor, "password_changed", user)
    db.session.commit()


def deactivate_user(user: User, *, actor: User | None = None) -> None:
    """Deactivate an account and revoke its API tokens at once."""
    user.active = False
    revoke_all_tokens(user)
    record_audit(actor, "user_deactivated", user)
    db.session.commit()


def update_user(user: User, *, display_name: str, phone: str | None, role: str, station_codes: list[str],
                actor: User | None = None) -> User:
    """Change an account's name, phone, role and stations, with the same station rules as create_user."""
    if role not in ROLES:
        raise Invalid(f"未知角色 {role}", fields={"role": ["unknown role"]})
    stations = _stations_by_code(station_codes)
    if role == "worker" and len(stations) != 1:
        raise Invalid("社工须属于一个社工站", fields={"station": ["a worker needs exactly one station"]})
    if role == "supervisor" and not stations:
        raise Invalid("督导员须至少督导一个社工站", fields={"station": ["a supervisor needs stations"]})
    before = {"role": user.role, "stations": _station_codes_of(user)}
    user.display_name = display_name.strip() or user.username
    user.phone = phone or None
    user.role = role
    user.station = stations[0] if role == "worker" else None
    user.supervised_stations = stations if role == "supervisor" else []
    record_audit(actor, "user_updated", user, before=before,
                 after={"role": role, "stations": sorted(station.code for station in stations)})
    db.session.commit()
    return user


def _station_codes_of(user: User) -> list[str]:
    if user.role == "worker":
        return [user.station.code] if user.station else []
    return sorted(station.code for station in user.supervised_stations)


def record_logout(user: User) -> None:
    """Audit the end of an admin session."""
    record_audit(user, "logout", user)
    db.session.commit()
