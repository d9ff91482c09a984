"""Who may see and act on what: the one place the rules of DESIGN.md's "who may do what" live.

Each permission is written once here, as `can_…` (a yes/no for views that show or hide a control) and,
where a service refuses, `ensure_…` (the same rule raising its one message). The API, the admin and the
CLI all ask these, and build their queries from the scoping helpers, so a supervisor's view of the data
is the same everywhere. Objects a user may not see are reported as NotFound (their existence is itself
private); other refusals are Forbidden. `None` as a user is the command line (or the demo seeder), run
by whoever operates the server.
"""

from __future__ import annotations

from sqlalchemy import Select, false, select

from extensions import db
from models import Beneficiary, Photo, User, Visit, supervisor_stations
from models.enums import Role
from services.errors import Forbidden, NotFound

# The longest reason accepted for revealing or exporting full ID numbers (the admin's forms use it too).
MAX_REVEAL_REASON_LENGTH = 500
# Who may use the admin site (and review visits); workers use the phone only.
REVIEWER_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
ADMIN_ROLES = frozenset({Role.ADMIN})


def is_admin(user: User | None) -> bool:
    """Whether the user is an administrator."""
    return user is not None and user.role == Role.ADMIN


def is_reviewer(user: User | None) -> bool:
    """Whether the user is a supervisor or an admin: who may use the admin site and review visits."""
    return user is not None and user.role in REVIEWER_ROLES


def can_edit_registry(user: User | None) -> bool:
    """Create and edit people of the registry, import rosters: admins (and the command line)."""
    return user is None or is_admin(user)


def ensure_can_edit_registry(user: User | None) -> None:
    """Refuse a registry change (form, CSV or XLSX import) by anyone but an admin."""
    if not can_edit_registry(user):
        raise Forbidden("只有管理员可以修改服务对象名册", code="registry_admin_only")


def can_manage_organisation(user: User | None) -> bool:
    """Manage users, stations, service points, regions and visit schedules: admins (and the command line)."""
    return user is None or is_admin(user)


def ensure_can_manage_organisation(user: User | None) -> None:
    """Refuse a change of accounts, stations, service points, regions or schedules by anyone but an admin."""
    if not can_manage_organisation(user):
        raise Forbidden("只有管理员可以管理账号、社工站、行政区划和走访周期", code="management_admin_only")


def can_change_account_status(actor: User | None, user: User) -> bool:
    """Deactivate or re-activate an account: admins (and the command line), never their own account (an admin
    must not lock themselves out, nor end the session they act in)."""
    return can_manage_organisation(actor) and (actor is None or actor.id != user.id)


def ensure_can_change_account_status(actor: User | None, user: User) -> None:
    """Refuse a deactivation or re-activation by anyone but an admin, or of the admin's own account."""
    ensure_can_manage_organisation(actor)
    if not can_change_account_status(actor, user):
        raise Forbidden("不能停用或启用自己的账号", code="own_account_status")


def can_export_full_ids(user: User | None) -> bool:
    """Export the registry with unmasked ID numbers (with a reason, audited): admins only."""
    return is_admin(user)


def ensure_can_export_full_ids(user: User | None) -> None:
    """Refuse an export of full ID numbers by anyone but an admin."""
    if not can_export_full_ids(user):
        raise Forbidden("只有管理员可以导出完整身份证号", code="full_id_export_admin_only")


def can_read_audit_log(user: User | None) -> bool:
    """Read the audit log: admins only."""
    return is_admin(user)


def station_ids_in_scope(user: User) -> Select | None:
    """A subquery of the station ids the user's records are scoped to; None means every station (admin)."""
    if user.role == Role.ADMIN:
        return None
    if user.role == Role.SUPERVISOR:
        return select(supervisor_stations.c.station_id).where(supervisor_stations.c.user_id == user.id)
    return select(User.station_id).where(User.id == user.id)


def _scope_on(statement: Select, user: User, station_column) -> Select:
    stations = station_ids_in_scope(user)
    if stations is None:
        return statement
    return statement.where(station_column.in_(stations))


def scope_visits(statement: Select, user: User) -> Select:
    """Restrict a query on Visit: a worker to their own, a supervisor to their stations', an admin to all."""
    if user.role == Role.WORKER:
        return statement.where(Visit.worker_id == user.id)
    if user.role not in REVIEWER_ROLES:
        return statement.where(false())
    return _scope_on(statement, user, Visit.station_id)


def scope_beneficiaries(statement: Select, user: User) -> Select:
    """Restrict a query on Beneficiary to the user's station(s)."""
    return _scope_on(statement, user, Beneficiary.station_id)


def scope_users(statement: Select, user: User) -> Select:
    """Restrict a query on User: admins see all; supervisors the workers of their stations."""
    if user.role == Role.ADMIN:
        return statement
    if user.role == Role.SUPERVISOR:
        return statement.where(User.role == Role.WORKER, User.station_id.in_(station_ids_in_scope(user)))
    return statement.where(User.id == user.id)


def can_access_station(user: User, station_id: int | None) -> bool:
    """Whether the station's records are in the user's scope."""
    if user.role == Role.ADMIN:
        return True
    if station_id is None:
        return False
    if user.role == Role.SUPERVISOR:
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
    if photo.owner_id == user.id or user.role == Role.ADMIN:
        return True
    if user.role != Role.SUPERVISOR or photo.visit_id is None:
        return False
    visit = db.session.get(Visit, photo.visit_id)
    return visit is not None and can_access_station(user, visit.station_id)


def get_photo_for(user: User, photo_id: int) -> Photo:
    """The photo if the user may see it, else NotFound."""
    photo = db.session.get(Photo, photo_id)
    if photo is None or not can_view_photo(user, photo):
        raise NotFound("照片不存在", code="photo_not_found")
    return photo


def can_submit_visits(user: User) -> bool:
    """Only workers submit (and resubmit) visits, for their own station."""
    return user.role == Role.WORKER and user.station_id is not None


def ensure_can_review(user: User, visit: Visit) -> None:
    """Supervisors of the visit's station and admins review; nobody reviews their own visit."""
    if user.role not in REVIEWER_ROLES or not can_access_station(user, visit.station_id):
        raise NotFound("走访记录不存在", code="visit_not_found")
    if visit.worker_id == user.id or any(coworker.id == user.id for coworker in visit.coworkers):
        raise Forbidden("不能审核自己提交的走访记录", code="self_review")


def can_reveal_id_number(user: User, beneficiary: Beneficiary) -> bool:
    """Supervisors of the person's station and admins may reveal a full ID number (audited)."""
    return user.role in REVIEWER_ROLES and can_access_station(user, beneficiary.station_id)
