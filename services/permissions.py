"""Who may see and act on what: the one place the scoping rules of DESIGN.md live.

The API and the admin both build their queries from these helpers, so a supervisor's view of the
data is the same everywhere. Objects a user may not see are reported as NotFound (their existence
is itself private); other refusals are Forbidden.
"""

from __future__ import annotations

from sqlalchemy import Select, false, select

from extensions import db
from models import Beneficiary, Photo, User, Visit, supervisor_stations
from services.errors import Forbidden, NotFound


def station_ids_in_scope(user: User) -> Select | None:
    """A subquery of the station ids the user's records are scoped to; None means every station (admin)."""
    if user.role == "admin":
        return None
    if user.role == "supervisor":
        return select(supervisor_stations.c.station_id).where(supervisor_stations.c.user_id == user.id)
    return select(User.station_id).where(User.id == user.id)


def _scope_on(statement: Select, user: User, station_column) -> Select:
    stations = station_ids_in_scope(user)
    if stations is None:
        return statement
    return statement.where(station_column.in_(stations))


def scope_visits(statement: Select, user: User) -> Select:
    """Restrict a query on Visit: a worker to their own, a supervisor to their stations', an admin to all."""
    if user.role == "worker":
        return statement.where(Visit.worker_id == user.id)
    if user.role not in ("supervisor", "admin"):
        return statement.where(false())
    return _scope_on(statement, user, Visit.station_id)


def scope_beneficiaries(statement: Select, user: User) -> Select:
    """Restrict a query on Beneficiary to the user's station(s)."""
    return _scope_on(statement, user, Beneficiary.station_id)


def scope_users(statement: Select, user: User) -> Select:
    """Restrict a query on User: admins see all; supervisors the workers of their stations."""
    if user.role == "admin":
        return statement
    if user.role == "supervisor":
        return statement.where(User.role == "worker", User.station_id.in_(station_ids_in_scope(user)))
    return statement.where(User.id == user.id)


def can_access_station(user: User, station_id: int | None) -> bool:
    """Whether the station's records are in the user's scope."""
    if user.role == "admin":
        return True
    if station_id is None:
        return False
    if user.role == "supervisor":
        return any(station.id == station_id for station in user.supervised_stations)
    return user.station_id == station_id


def get_visit_for(user: User, visit_id: int) -> Visit:
    """The visit if the user may see it, else NotFound."""
    visit = db.session.scalar(scope_visits(select(Visit).where(Visit.id == visit_id), user))
    if visit is None:
        raise NotFound("走访记录不存在", code="visit_not_found")
    return visit


def can_view_photo(user: User, photo: Photo) -> bool:
    """The owner, the supervisors of the visit's station and admins; an unattached photo only its owner."""
    if photo.owner_id == user.id or user.role == "admin":
        return True
    if user.role != "supervisor" or photo.visit_id is None:
        return False
    visit = db.session.get(Visit, photo.visit_id)
    return visit is not None and can_access_station(user, visit.station_id)


def get_photo_for(user: User, photo_id: int) -> Photo:
    """The photo if the user may see it, else NotFound."""
    photo = db.session.get(Photo, photo_id)
    if photo is None or not can_view_photo(user, photo):
        raise NotFound("照片不存在", code="photo_not_found")
    return photo


def ensure_can_review(user: User, visit: Visit) -> None:
    """Supervisors of the visit's station and admins review; nobody reviews their own visit."""
    if user.role not in ("supervisor", "admin") or not can_access_station(user, visit.station_id):
        raise NotFound("走访记录不存在", code="visit_not_found")
    if visit.worker_id == user.id or any(coworker.id == user.id for coworker in visit.coworkers):
        raise Forbidden("不能审核自己提交的走访记录", code="self_review")


def can_reveal_id_number(user: User, beneficiary: Beneficiary) -> bool:
    """Supervisors of the person's station and admins may reveal a full ID number (audited)."""
    return user.role in ("supervisor", "admin") and can_access_station(user, beneficiary.station_id)
