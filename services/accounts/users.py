"""User accounts: creation, lookup, password changes, updates, deactivation and re-activation."""

from __future__ import annotations

from sqlalchemy import func, select

from extensions import db
from models import Station, User
from models.enums import ROLES, Role
from services.accounts.credentials import check_password_strength, hash_password, revoke_all_tokens
from services.audit import record_audit
from services.errors import Invalid, NotFound
from services.permissions import ensure_can_change_account_status, ensure_can_manage_organisation
from services.registry.stations import stations_by_code
from services.validation import FieldErrors

MAX_USERNAME_LENGTH = 64


def _check_role(role: str, checker: FieldErrors) -> bool:
    if role in ROLES:
        return True
    checker.add("role", f"未知角色 {role}", code="unknown_role", params={"role": role})
    return False


def _stations_for(role: str, codes: list[str], checker: FieldErrors) -> list[Station]:
    """The stations of the codes, in their order, checked against the role (a worker one, a supervisor some);
    each refusal is added to the checker."""
    found = stations_by_code(codes)
    for code in codes:
        if code not in found:
            checker.add("station", f"社工站 {code} 不存在", code="unknown_station", params={"code": code})
    stations = [found[code] for code in codes if code in found]
    if len(stations) != len(codes):
        return stations
    if role == Role.WORKER and len(stations) != 1:
        checker.add("station", "社工须属于一个社工站", code="worker_needs_one_station")
    if role == Role.SUPERVISOR and not stations:
        checker.add("supervised_stations", "督导员须至少督导一个社工站", code="supervisor_needs_stations")
    return stations


def create_user(username: str, role: str, password: str, *, display_name: str = "",
                phone: str | None = None, station_codes: list[str] | None = None,
                actor: User | None = None) -> User:
    """Create an account; a worker belongs to exactly one station, a supervisor to one or more.

    Raises FieldsInvalid (code `user_invalid`) with every refused field at once, each with its own code.
    """
    ensure_can_manage_organisation(actor)
    station_codes = station_codes or []
    checker = FieldErrors("账号信息有误", code="user_invalid")
    role_known = _check_role(role, checker)
    username = username.strip()
    if not username or len(username) > MAX_USERNAME_LENGTH:
        checker.add("username", "用户名无效", code="username_invalid")
    elif db.session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        checker.add("username", f"用户名 {username} 已存在", code="username_taken", params={"username": username})
    try:
        check_password_strength(password)
    except Invalid as problem:
        checker.add("password", problem.message, code=problem.code, params=problem.params)
    stations = _stations_for(role, station_codes, checker) if role_known else []
    checker.raise_if_any()
    user = User(username=username, role=role, display_name=display_name or username, phone=phone,
                password_hash=hash_password(password), active=True)
    if role == Role.WORKER:
        user.station = stations[0]
    elif role == Role.SUPERVISOR:
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
        raise NotFound(f"用户 {username} 不存在", code="unknown_user", params={"username": username})
    return user


def set_password(user: User, password: str, *, actor: User | None = None) -> None:
    """Set a new password; existing API tokens are revoked so a leaked one stops working."""
    ensure_can_manage_organisation(actor)
    check_password_strength(password)
    user.password_hash = hash_password(password)
    revoke_all_tokens(user)
    end_admin_sessions(user)
    record_audit(actor, "password_changed", user)
    db.session.commit()


def deactivate_user(user: User, *, actor: User | None = None) -> None:
    """Deactivate an account and revoke its API tokens at once; nobody deactivates their own account."""
    ensure_can_change_account_status(actor, user)
    user.active = False
    revoke_all_tokens(user)
    end_admin_sessions(user)
    record_audit(actor, "user_deactivated", user)
    db.session.commit()


def reactivate_user(user: User, *, actor: User | None = None) -> None:
    """Let a deactivated account log in again (password and WeChat; its old tokens stay revoked); audited."""
    ensure_can_change_account_status(actor, user)
    user.active = True
    record_audit(actor, "user_reactivated", user)
    db.session.commit()


def update_user(user: User, *, display_name: str, phone: str | None, role: str, station_codes: list[str],
                actor: User | None = None) -> User:
    """Change an account's name, phone, role and stations, with the same station rules as create_user.

    Raises FieldsInvalid (code `user_invalid`) with every refused field at once, each with its own code.
    """
    ensure_can_manage_organisation(actor)
    checker = FieldErrors("账号信息有误", code="user_invalid")
    stations = _stations_for(role, station_codes, checker) if _check_role(role, checker) else []
    checker.raise_if_any()
    before = {"role": user.role, "stations": _station_codes_of(user)}
    user.display_name = display_name.strip() or user.username
    user.phone = phone or None
    user.role = role
    user.station = stations[0] if role == Role.WORKER else None
    user.supervised_stations = stations if role == Role.SUPERVISOR else []
    after = {"role": role, "stations": sorted(station.code for station in stations)}
    if after != before:
        # What the user may see changed: sessions opened under the old rights end.
        end_admin_sessions(user)
    record_audit(actor, "user_updated", user, before=before, after=after)
    db.session.commit()
    return user


def _station_codes_of(user: User) -> list[str]:
    if user.role == Role.WORKER:
        return [user.station.code] if user.station else []
    return sorted(station.code for station in user.supervised_stations)


def end_admin_sessions(user: User) -> None:
    """End every admin session of the user at once (a captured cookie stops working), within the caller's
    transaction: the session version in each cookie no longer matches."""
    user.session_version = (user.session_version or 1) + 1


def record_logout(user: User) -> None:
    """End the user's admin sessions (all of them, on every device) and audit it."""
    end_admin_sessions(user)
    record_audit(user, "logout", user)
    db.session.commit()
