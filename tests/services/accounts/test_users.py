"""services.accounts.users: every field problem of an account at once (with its own code), re-activation audited,
nobody changes their own account's status."""

import pytest
from sqlalchemy import select

from extensions import db
from models import AuditEvent, User
from services.accounts.credentials import authenticate
from services.accounts.users import create_user, deactivate_user, reactivate_user, update_user
from services.errors import Forbidden, Unauthorized
from services.validation import FieldsInvalid
from tests.factories import PASSWORD, make_admin, make_station, make_supervisor, make_worker


def _problems(error: FieldsInvalid) -> list[tuple[str, str, dict]]:
    return [(problem.field, problem.code, dict(problem.params)) for problem in error.errors]


def test_create_user_refuses_every_problem_at_once(app):
    make_worker(username="taken")
    with pytest.raises(FieldsInvalid) as refused:
        create_user("taken", "worker", "short", station_codes=["nowhere"], actor=make_admin())
    assert refused.value.code == "user_invalid" and refused.value.status == 422
    assert _problems(refused.value) == [
        ("username", "username_taken", {"username": "taken"}),
        ("password", "password_too_short", {"limit": 8}),
        ("station", "unknown_station", {"code": "nowhere"}),
    ]
    # The Chinese per-field sentences stay what the command line prints.
    assert refused.value.fields["station"] == ["社工站 nowhere 不存在"]
    assert db.session.scalar(select(User.id).where(User.username == "taken")) is not None
    assert len(db.session.scalars(select(User)).all()) == 2


def test_create_user_with_an_unknown_role_and_a_blank_name(app):
    with pytest.raises(FieldsInvalid) as refused:
        create_user("  ", "boss", "long-enough-1")
    assert [(field, code) for field, code, _ in _problems(refused.value)] == [
        ("role", "unknown_role"), ("username", "username_invalid")]


def test_update_user_refuses_every_problem_at_once_and_changes_nothing(app):
    station = make_station()
    supervisor = make_supervisor(station, display_name="原名")
    with pytest.raises(FieldsInvalid) as refused:
        update_user(supervisor, display_name="新名", phone=None, role="supervisor", station_codes=["x1", "x2"])
    assert [code for _, code, _ in _problems(refused.value)] == ["unknown_station", "unknown_station"]
    db.session.rollback()
    assert supervisor.display_name == "原名"
    with pytest.raises(FieldsInvalid) as refused:
        update_user(supervisor, display_name="新名", phone=None, role="supervisor", station_codes=[])
    assert _problems(refused.value) == [("supervised_stations", "supervisor_needs_stations", {})]


def test_reactivate_user_lets_the_account_log_in_again_and_is_audited(app):
    admin, worker = make_admin(), make_worker()
    deactivate_user(worker, actor=admin)
    with pytest.raises(Unauthorized):
        authenticate(worker.username, PASSWORD)
    reactivate_user(worker, actor=admin)
    assert worker.active
    assert authenticate(worker.username, PASSWORD).id == worker.id
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == worker.id,
                                                                 AuditEvent.object_type == "users")).all()
    assert "user_reactivated" in actions


@pytest.mark.parametrize("service", [deactivate_user, reactivate_user])
def test_only_admins_change_an_accounts_status_and_never_their_own(app, service):
    station = make_station()
    worker = make_worker(station)
    with pytest.raises(Forbidden) as refused:
        service(worker, actor=make_supervisor(station))
    assert refused.value.code == "management_admin_only"
    admin = make_admin()
    with pytest.raises(Forbidden) as refused:
        service(admin, actor=admin)
    assert refused.value.code == "own_account_status"
    db.session.rollback()
    assert admin.active
