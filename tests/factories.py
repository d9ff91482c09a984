"""Factories for test data: each returns a committed row with sensible defaults, overridable by keyword."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from stdnum.cn import ric

from extensions import db
from models import ApiToken, Beneficiary, ServicePoint, Station, User, utcnow
from services.accounts import hash_password, issue_token

PASSWORD = "correct-horse-42"
# Hashing with scrypt costs ~50 ms; tests make many users, so they share one hash.
_PASSWORD_HASH = hash_password(PASSWORD)
_sequence = itertools.count(1)


def _next() -> int:
    return next(_sequence)


def valid_id_number(birth: date = date(1950, 3, 1), region: str = "440902", serial: int | None = None) -> str:
    """An 18-digit ID number with a correct GB 11643 check digit."""
    body = f"{region}{birth:%Y%m%d}{(serial if serial is not None else _next()) % 1000:03d}"
    return body + ric.calc_check_digit(body)


def make_station(**overrides) -> Station:
    n = _next()
    station = Station(code=overrides.pop("code", f"44090200{n:04d}"), name=overrides.pop("name", f"测试镇{n}"),
                      latitude=overrides.pop("latitude", 21.66), longitude=overrides.pop("longitude", 110.92),
                      **overrides)
    db.session.add(station)
    db.session.commit()
    return station


def make_service_point(station: Station, **overrides) -> ServicePoint:
    n = _next()
    point = ServicePoint(station=station, name=overrides.pop("name", f"测试村{n}"), **overrides)
    db.session.add(point)
    db.session.commit()
    return point


def make_user(role: str = "worker", *, station: Station | None = None, stations: list[Station] | None = None,
              **overrides) -> User:
    n = _next()
    user = User(username=overrides.pop("username", f"{role}{n}"), role=role,
                display_name=overrides.pop("display_name", f"{role} {n}"),
                password_hash=overrides.pop("password_hash", _PASSWORD_HASH), active=overrides.pop("active", True),
                **overrides)
    if role == "worker":
        user.station = station or make_station()
    elif role == "supervisor":
        user.supervised_stations = stations if stations is not None else [station or make_station()]
    db.session.add(user)
    db.session.commit()
    return user


def make_worker(station: Station | None = None, **overrides) -> User:
    return make_user("worker", station=station, **overrides)


def make_supervisor(*stations: Station, **overrides) -> User:
    return make_user("supervisor", stations=list(stations) or None, **overrides)


def make_admin(**overrides) -> User:
    return make_user("admin", **overrides)


def make_beneficiary(station: Station | None = None, **overrides) -> Beneficiary:
    n = _next()
    categories = overrides.pop("categories", ["dibao"])
    beneficiary = Beneficiary(
        name=overrides.pop("name", f"测试{n}"),
        name_initials=overrides.pop("name_initials", "cs"),
        id_number=overrides.pop("id_number", valid_id_number(serial=n)),
        gender=overrides.pop("gender", "female"),
        birth_date=overrides.pop("birth_date", date(1950, 3, 1)),
        station=station or make_station(),
        address=overrides.pop("address", "测试村1号"),
        home_latitude=overrides.pop("home_latitude", 21.665),
        home_longitude=overrides.pop("home_longitude", 110.928),
        status=overrides.pop("status", "active"),
        **overrides,
    )
    beneficiary.categories = categories
    db.session.add(beneficiary)
    db.session.commit()
    return beneficiary


def token_for(user: User) -> str:
    """A fresh API token for the user."""
    raw, _ = issue_token(user)
    return raw


def auth_headers(user: User) -> dict:
    """Authorization headers for API calls as this user."""
    return {"Authorization": f"Bearer {token_for(user)}"}


def expire_tokens(user: User) -> None:
    """Move every token of the user into the past."""
    for token in db.session.scalars(db.select(ApiToken).where(ApiToken.user_id == user.id)):
        token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
