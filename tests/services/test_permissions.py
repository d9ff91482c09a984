"""services.permissions, table-driven from DESIGN.md's "Who may do what".

Every row of the design's table is written out below (not read from the code under test), for a worker and a
supervisor of station A and an admin. For a scoped action the expected answer is a pair: (on a record of station
A, on a record of station B).
"""

import pytest
from sqlalchemy import select

from extensions import db
from models import Beneficiary, User, Visit
from services.errors import Forbidden, NotFound
from services.permissions import (
    can_change_account_status,
    can_edit_registry,
    can_export_full_ids,
    can_manage_organisation,
    can_read_audit_log,
    can_reveal_id_number,
    can_submit_visits,
    can_view_photo,
    ensure_can_edit_registry,
    ensure_can_export_full_ids,
    ensure_can_manage_organisation,
    ensure_can_review,
    is_reviewer,
    scope_beneficiaries,
    scope_users,
    scope_visits,
    station_ids_in_scope,
)
from tests.factories import (
    make_admin,
    make_beneficiary,
    make_photo,
    make_reviewable_visit,
    make_station,
    make_supervisor,
    make_worker,
)

WORKER, SUPERVISOR, ADMIN = "worker", "supervisor", "admin"


@pytest.fixture
def scene(app):
    """Stations A and B, each with a worker, a visit (with a photo) and a person; A's supervisor; an admin."""
    station_a, station_b = make_station(), make_station()
    worker_a, other_worker_a, worker_b = make_worker(station_a), make_worker(station_a), make_worker(station_b)
    visits = {}
    for key, worker in (("a", worker_a), ("b", worker_b)):
        visit = make_reviewable_visit(worker)
        make_photo(worker, visit_id=visit.id)
        visits[key] = visit
    return {
        "users": {WORKER: worker_a, SUPERVISOR: make_supervisor(station_a), ADMIN: make_admin()},
        "stations": (station_a, station_b),
        "visits": (visits["a"], visits["b"]),
        "people": (make_beneficiary(station_a), make_beneficiary(station_b)),
        "workers": (other_worker_a, worker_b),
    }


def _sees(statement, user_scope, user, row) -> bool:
    return db.session.scalar(user_scope(statement.where(type(row).id == row.id), user)) is not None


def _may_review(user, visit) -> bool:
    try:
        ensure_can_review(user, visit)
    except (NotFound, Forbidden):
        return False
    return True


def _station_in_scope(user, station) -> bool:
    scope = station_ids_in_scope(user)
    return scope is None or station.id in set(db.session.scalars(scope))


# (action of the table, how it is asked of services.permissions, who may: role -> answer)
WHO_MAY_DO_WHAT = [
    ("log in to the admin site", lambda scene, user: is_reviewer(user),
     {WORKER: False, SUPERVISOR: True, ADMIN: True}),
    ("submit a visit", lambda scene, user: can_submit_visits(user),
     {WORKER: True, SUPERVISOR: False, ADMIN: False}),
    ("see a visit", lambda scene, user: tuple(_sees(select(Visit), scope_visits, user, v) for v in scene["visits"]),
     {WORKER: (True, False), SUPERVISOR: (True, False), ADMIN: (True, True)}),
    ("see a visit's photos", lambda scene, user: tuple(can_view_photo(user, v.photos[0]) for v in scene["visits"]),
     {WORKER: (True, False), SUPERVISOR: (True, False), ADMIN: (True, True)}),
    ("approve / reject / return / reopen", lambda scene, user: tuple(_may_review(user, v) for v in scene["visits"]),
     {WORKER: (False, False), SUPERVISOR: (True, False), ADMIN: (True, True)}),
    ("see beneficiaries", lambda scene, user: tuple(_sees(select(Beneficiary), scope_beneficiaries, user, p)
                                                   for p in scene["people"]),
     {WORKER: (True, False), SUPERVISOR: (True, False), ADMIN: (True, True)}),
    ("reveal a full ID number", lambda scene, user: tuple(can_reveal_id_number(user, p) for p in scene["people"]),
     {WORKER: (False, False), SUPERVISOR: (True, False), ADMIN: (True, True)}),
    ("create / edit beneficiaries, import rosters", lambda scene, user: can_edit_registry(user),
     {WORKER: False, SUPERVISOR: False, ADMIN: True}),
    ("manage users, stations, regions, schedules", lambda scene, user: can_manage_organisation(user),
     {WORKER: False, SUPERVISOR: False, ADMIN: True}),
    ("view workers' accounts", lambda scene, user: tuple(_sees(select(User), scope_users, user, w)
                                                        for w in scene["workers"]),
     {WORKER: (False, False), SUPERVISOR: (True, False), ADMIN: (True, True)}),
    ("reports, dashboard, exports", lambda scene, user: tuple(_station_in_scope(user, s) for s in scene["stations"]),
     {WORKER: (True, False), SUPERVISOR: (True, False), ADMIN: (True, True)}),
    ("export full ID numbers", lambda scene, user: can_export_full_ids(user),
     {WORKER: False, SUPERVISOR: False, ADMIN: True}),
    ("read the audit log", lambda scene, user: can_read_audit_log(user),
     {WORKER: False, SUPERVISOR: False, ADMIN: True}),
    # Part of "manage users": deactivate or re-activate another's account (own account: see the test below).
    ("deactivate / re-activate an account", lambda scene, user: can_change_account_status(
        user, scene["workers"][0]), {WORKER: False, SUPERVISOR: False, ADMIN: True}),
]


@pytest.mark.parametrize(("action", "ask", "role", "expected"), [
    pytest.param(action, ask, role, expected, id=f"{action} [{role}]")
    for action, ask, answers in WHO_MAY_DO_WHAT for role, expected in answers.items()
])
def test_who_may_do_what(scene, action, ask, role, expected):
    assert ask(scene, scene["users"][role]) == expected


def test_nobody_reviews_a_visit_they_took_part_in(app):
    station = make_station()
    supervisor = make_supervisor(station)
    # A supervisor who went along as a co-worker, and an admin who submitted it: neither may review it.
    coworked = make_reviewable_visit(make_worker(station))
    coworked.coworkers.append(supervisor)
    admin = make_admin()
    own = make_reviewable_visit(admin, station_id=station.id)
    db.session.commit()
    for user, visit in ((supervisor, coworked), (admin, own)):
        with pytest.raises(Forbidden) as refused:
            ensure_can_review(user, visit)
        assert refused.value.code == "self_review"


def test_nobody_deactivates_or_reactivates_their_own_account(app):
    admin, other_admin = make_admin(), make_admin()
    assert can_change_account_status(admin, other_admin) and not can_change_account_status(admin, admin)
    assert can_change_account_status(None, admin)  # the command line


def test_the_command_line_may_manage_and_edit_the_registry(app):
    # None is the operator at the server's command line (flask stations add, beneficiaries import, seed-demo).
    assert can_manage_organisation(None) and can_edit_registry(None)
    assert not can_export_full_ids(None) and not is_reviewer(None)


# Each refusal has its own rule, so its own code and one message.
@pytest.mark.parametrize(("ensure", "code"), [
    (ensure_can_edit_registry, "registry_admin_only"),
    (ensure_can_manage_organisation, "management_admin_only"),
    (ensure_can_export_full_ids, "full_id_export_admin_only"),
])
def test_admin_only_rules_refuse_others_with_their_own_code(app, ensure, code):
    ensure(make_admin())
    for user in (make_worker(), make_supervisor()):
        with pytest.raises(Forbidden) as refused:
            ensure(user)
        assert refused.value.code == code and refused.value.message
