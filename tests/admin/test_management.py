"""Management views over HTTP: users, registry, stations, audit log; scoping, services called, ID numbers masked."""

import pytest
from sqlalchemy import func, select

from extensions import db
from models import ApiToken, AuditEvent, Beneficiary, Region, ServicePoint, Station, User
from services.accounts.credentials import authenticate
from services.accounts.users import deactivate_user
from tests.admin.conftest import redirects_to_login
from tests.factories import (
    auth_headers,
    make_admin,
    make_beneficiary,
    make_service_point,
    make_station,
    make_supervisor,
    make_worker,
    valid_id_number,
)


def _audit_rows(action: str) -> list[AuditEvent]:
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def _page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, f"{url} answered {response.status_code}"
    return response.get_data(as_text=True)


# --- supervisors: read-only, their stations only ---------------------------------------------------------

@pytest.fixture
def two_stations():
    """Two stations, each with a supervisor, a worker and a beneficiary."""
    mine, theirs = make_station(name="本镇"), make_station(name="邻镇")
    return {
        "supervisor": make_supervisor(mine), "other_supervisor": make_supervisor(theirs),
        "worker": make_worker(mine, username="my_worker"), "other_worker": make_worker(theirs, username="far_worker"),
        "person": make_beneficiary(mine, name="张本镇"), "other_person": make_beneficiary(theirs, name="李邻镇"),
    }


def test_supervisor_sees_only_the_workers_of_their_stations(client, login_as, two_stations):
    login_as(two_stations["supervisor"])
    html = _page(client, "/admin/users/")
    assert "my_worker" in html
    assert "far_worker" not in html
    assert two_stations["other_supervisor"].username not in html
    assert client.get(f"/admin/users/details/?id={two_stations['worker'].id}").status_code == 200
    assert client.get(f"/admin/users/details/?id={two_stations['other_worker'].id}").status_code == 404
    assert client.get(f"/admin/users/details/?id={two_stations['other_supervisor'].id}").status_code == 404


def test_supervisor_sees_only_the_beneficiaries_of_their_stations(client, login_as, two_stations):
    login_as(two_stations["supervisor"])
    html = _page(client, "/admin/beneficiaries/")
    assert "张本镇" in html and "李邻镇" not in html
    assert client.get(f"/admin/beneficiaries/details/?id={two_stations['person'].id}").status_code == 200
    assert client.get(f"/admin/beneficiaries/details/?id={two_stations['other_person'].id}").status_code == 404
    assert client.get(f"/admin/beneficiaries/reveal/?id={two_stations['other_person'].id}").status_code == 404


def test_supervisor_cannot_edit_create_or_act(client, login_as, csrf_from, two_stations):
    login_as(two_stations["supervisor"])
    worker = two_stations["worker"]
    token = csrf_from("/admin/users/")
    client.post(f"/admin/users/edit/?id={worker.id}", data={"display_name": "changed", "role": "admin",
                                                             "csrf_token": token})
    client.post("/admin/users/action/", data={"action": "deactivate", "rowid": [str(worker.id)],
                                              "csrf_token": token})
    client.post("/admin/users/new/", data={"username": "sneaky", "role": "admin", "password": "long-enough-1",
                                           "csrf_token": token})
    assert client.get(f"/admin/users/password/?id={worker.id}").status_code == 403
    db.session.expire_all()
    assert worker.role == "worker" and worker.active and worker.display_name != "changed"
    assert db.session.scalar(select(User).where(User.username == "sneaky")) is None
    assert "/edit/" not in _page(client, "/admin/users/")


@pytest.mark.parametrize("url", ["/admin/stations/", "/admin/regions/", "/admin/service_points/",
                                 "/admin/audit_log/"])
def test_admin_only_views_are_forbidden_to_supervisors(client, login_as, url):
    login_as(make_supervisor())
    assert client.get(url).status_code == 403


# --- users: the admin's account management ---------------------------------------------------------------

def test_admin_creates_a_worker_through_the_service(client, login_as, csrf_from):
    station = make_station()
    admin = make_admin()
    login_as(admin)
    response = client.post("/admin/users/new/", data={
        "username": "new_worker", "display_name": "王社工", "role": "worker", "station": str(station.id),
        "password": "long-enough-1", "csrf_token": csrf_from("/admin/users/new/"),
    })
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.username == "new_worker"))
    assert user.station_id == station.id and user.display_name == "王社工"
    assert authenticate("new_worker", "long-enough-1").id == user.id
    assert [row.actor_id for row in _audit_rows("user_created")] == [admin.id]


def test_creating_a_worker_without_a_station_is_refused_with_the_services_message(client, login_as, csrf_from):
    login_as(make_admin())
    response = client.post("/admin/users/new/", data={
        "username": "stationless", "role": "worker", "password": "long-enough-1",
        "csrf_token": csrf_from("/admin/users/new/"),
    })
    assert response.status_code == 200
    assert "社工须属于一个社工站" in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.username == "stationless")) is None


def test_admin_edits_a_supervisors_stations(client, login_as, csrf_from):
    first, second = make_station(), make_station()
    supervisor = make_supervisor(first)
    login_as(make_admin())
    response = client.post(f"/admin/users/edit/?id={supervisor.id}", data={
        "display_name": "赵督导", "role": "supervisor", "supervised_stations": [str(first.id), str(second.id)],
        "csrf_token": csrf_from(f"/admin/users/edit/?id={supervisor.id}"),
    })
    assert response.status_code == 302
    db.session.expire_all()
    assert {station.id for station in supervisor.supervised_stations} == {first.id, second.id}
    assert supervisor.display_name == "赵督导"
    [event] = _audit_rows("user_updated")
    assert event.object_id == supervisor.id
    assert sorted(event.details["after"]["stations"]) == sorted([first.code, second.code])


def test_password_hash_is_never_shown(client, login_as):
    worker = make_worker()
    login_as(make_admin())
    for url in ("/admin/users/", f"/admin/users/details/?id={worker.id}", f"/admin/users/edit/?id={worker.id}",
                "/admin/users/new/"):
        html = _page(client, url)
        assert worker.password_hash not in html
        assert "password_hash" not in html and "scrypt" not in html


def test_deactivate_action_revokes_api_tokens_at_once(client, login_as, csrf_from):
    worker = make_worker()
    headers = auth_headers(worker)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    login_as(make_admin())
    response = client.post("/admin/users/action/", data={
        "action": "deactivate", "rowid": [str(worker.id)], "csrf_token": csrf_from("/admin/users/"),
    })
    assert response.status_code == 302
    db.session.expire_all()
    assert not worker.active
    assert db.session.scalar(select(func.count()).select_from(ApiToken).where(
        ApiToken.user_id == worker.id, ApiToken.revoked_at.is_(None))) == 0
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert len(_audit_rows("user_deactivated")) == 1


def test_deactivate_action_without_csrf_token_changes_nothing(client, login_as):
    worker = make_worker()
    login_as(make_admin())
    assert client.post("/admin/users/action/", data={"action": "deactivate",
                                                     "rowid": [str(worker.id)]}).status_code == 400
    db.session.expire_all()
    assert worker.active


def test_admin_resets_a_password(client, login_as, csrf_from):
    worker = make_worker()
    headers = auth_headers(worker)
    login_as(make_admin())
    url = f"/admin/users/password/?id={worker.id}"
    token = csrf_from(url)
    mismatch = client.post(url, data={"password": "brand-new-pass", "confirm": "other-pass-1", "csrf_token": token})
    assert mismatch.status_code == 200
    response = client.post(url, data={"password": "brand-new-pass", "confirm": "brand-new-pass",
                                      "csrf_token": token})
    assert response.status_code == 302
    assert authenticate(worker.username, "brand-new-pass").id == worker.id
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert len(_audit_rows("password_changed")) == 1


def test_users_list_costs_the_same_queries_for_more_rows(client, login_as, count_queries):
    station = make_station()
    login_as(make_admin())
    make_supervisor(station, make_station())
    make_worker(station)

    def list_queries() -> int:
        with count_queries() as counter:
            _page(client, "/admin/users/")
        return counter.count

    few = list_queries()
    for _ in range(5):
        make_worker(make_station())
        make_supervisor(make_station(), make_station())
    assert list_queries() == few


# --- beneficiaries: masked ID numbers, audited reveal -----------------------------------------------------

def test_no_page_shows_a_full_id_number(client, login_as, two_stations):
    person = two_stations["person"]
    for user in (make_admin(), two_stations["supervisor"]):
        login_as(user)
        for url in ("/admin/beneficiaries/", f"/admin/beneficiaries/details/?id={person.id}",
                    f"/admin/beneficiaries/edit/?id={person.id}", f"/admin/beneficiaries/reveal/?id={person.id}",
                    "/admin/beneficiaries/?search=" + person.name):
            response = client.get(url)
            html = response.get_data(as_text=True)
            assert person.id_number not in html, url
        assert person.id_number_masked in _page(client, f"/admin/beneficiaries/details/?id={person.id}")


def test_reveal_shows_the_number_once_and_is_audited(client, login_as, csrf_from, two_stations):
    person = two_stations["person"]
    supervisor = two_stations["supervisor"]
    login_as(supervisor)
    url = f"/admin/beneficiaries/reveal/?id={person.id}"
    token = csrf_from(url)
    no_reason = client.post(url, data={"reason": "", "csrf_token": token})
    assert person.id_number not in no_reason.get_data(as_text=True)
    assert _audit_rows("id_number_revealed") == []

    response = client.post(url, data={"reason": "核对低保材料", "csrf_token": token})
    assert response.status_code == 200
    assert person.id_number in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    [event] = _audit_rows("id_number_revealed")
    assert (event.actor_id, event.object_id, event.details["reason"]) == (supervisor.id, person.id, "核对低保材料")
    assert person.id_number not in _page(client, f"/admin/beneficiaries/details/?id={person.id}")


def test_reveal_without_csrf_token_shows_nothing(client, login_as, two_stations):
    person = two_stations["person"]
    login_as(two_stations["supervisor"])
    response = client.post(f"/admin/beneficiaries/reveal/?id={person.id}", data={"reason": "核对"})
    assert response.status_code == 400
    assert person.id_number not in response.get_data(as_text=True)
    assert _audit_rows("id_number_revealed") == []


def test_admin_creates_a_beneficiary_with_categories(client, login_as, csrf_from):
    station = make_station()
    point = make_service_point(station)
    login_as(make_admin())
    id_number = valid_id_number(serial=777)
    response = client.post("/admin/beneficiaries/new/", data={
        "name": "陈阿婆", "new_id_number": id_number, "categories": ["tekun", "elderly_alone"],
        "station": str(station.id), "service_point": str(point.id), "status": "active",
        "csrf_token": csrf_from("/admin/beneficiaries/new/"),
    })
    assert response.status_code == 302
    person = db.session.scalar(select(Beneficiary).where(Beneficiary.id_number == id_number))
    assert person.categories == ["elderly_alone", "tekun"]
    assert person.service_point_id == point.id
    assert person.id_number not in _page(client, f"/admin/beneficiaries/edit/?id={person.id}")
    assert "特困" in _page(client, "/admin/beneficiaries/")


def test_editing_without_a_new_id_number_keeps_the_stored_one(client, login_as, csrf_from):
    person = make_beneficiary(categories=["dibao"])
    stored = person.id_number
    login_as(make_admin())
    url = f"/admin/beneficiaries/edit/?id={person.id}"
    response = client.post(url, data={
        "name": person.name, "new_id_number": "", "categories": ["disabled"], "station": str(person.station_id),
        "status": "active", "csrf_token": csrf_from(url),
    })
    assert response.status_code == 302
    db.session.expire_all()
    assert person.id_number == stored
    assert person.categories == ["disabled"]
    assert len(_audit_rows("beneficiary_changed")) == 1


def test_beneficiary_list_costs_the_same_queries_for_more_rows(client, login_as, count_queries):
    station = make_station()
    point = make_service_point(station)
    login_as(make_admin())
    make_beneficiary(station, service_point=point, categories=["dibao", "disabled"])

    def list_queries() -> int:
        with count_queries() as counter:
            _page(client, "/admin/beneficiaries/")
        return counter.count

    few = list_queries()
    for _ in range(6):
        other = make_station()
        make_beneficiary(other, service_point=make_service_point(other), categories=["tekun", "orphan"])
    assert list_queries() == few


# --- stations and the audit log --------------------------------------------------------------------------

def test_admin_creates_a_station_through_the_service(client, login_as, csrf_from):
    login_as(make_admin())
    response = client.post("/admin/stations/new/", data={
        "code": "440902101", "name": "新镇社工站", "latitude": "21.6", "longitude": "110.9",
        "csrf_token": csrf_from("/admin/stations/new/"),
    })
    assert response.status_code == 302
    station = db.session.scalar(select(Station).where(Station.code == "440902101"))
    assert station.region is not None and station.region.level == "township"


def test_station_created_in_the_admin_is_one_audited_transaction_with_the_chosen_region(client, login_as, csrf_from):
    admin = make_admin()
    region = Region(code="4409", name="茂名市", level="city")
    db.session.add(region)
    db.session.commit()
    login_as(admin)
    response = client.post("/admin/stations/new/", data={
        "code": "HQ-1", "name": "市社工总站", "region": str(region.id),
        "csrf_token": csrf_from("/admin/stations/new/"),
    })
    assert response.status_code == 302
    station = db.session.scalar(select(Station).where(Station.code == "HQ-1"))
    assert station.region_id == region.id
    [event] = _audit_rows("station_created")
    assert (event.actor_id, event.object_id) == (admin.id, station.id)


def test_station_refused_in_the_admin_shows_the_reason_and_writes_nothing(client, login_as, csrf_from):
    make_station(code="440902555")
    login_as(make_admin())
    response = client.post("/admin/stations/new/", data={
        "code": "440902555", "name": "重复", "csrf_token": csrf_from("/admin/stations/new/")})
    assert response.status_code == 200 and "社工站 440902555 已存在" in response.get_data(as_text=True)
    assert _audit_rows("station_created") == []


def test_station_edits_in_the_admin_go_through_the_service_and_are_audited(client, login_as, csrf_from):
    admin, station = make_admin(), make_station(name="旧名镇")
    login_as(admin)
    response = client.post(f"/admin/stations/edit/?id={station.id}", data={
        "code": station.code, "name": "新名镇", "latitude": str(station.latitude), "longitude": str(station.longitude),
        "csrf_token": csrf_from("/admin/stations/new/")})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Station, station.id).name == "新名镇"
    [event] = _audit_rows("station_changed")
    assert (event.actor_id, event.details["fields"]) == (admin.id, ["name"])


def test_region_edits_in_the_admin_go_through_the_service_and_are_audited(client, login_as, csrf_from):
    admin = make_admin()
    login_as(admin)
    token = csrf_from("/admin/regions/new/")
    assert client.post("/admin/regions/new/", data={"code": "440900", "name": "茂名", "level": "city",
                                                    "csrf_token": token}).status_code == 302
    region = db.session.scalar(select(Region).where(Region.code == "440900"))
    response = client.post(f"/admin/regions/edit/?id={region.id}", data={
        "code": "440900", "name": "茂名市", "level": "city", "csrf_token": token})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Region, region.id).name == "茂名市"
    events = _audit_rows("region_changed")
    assert [(event.actor_id, event.details["created"], event.details["fields"]) for event in events] == [
        (admin.id, True, ["code", "level", "name", "parent"]), (admin.id, False, ["name"])]


def test_service_point_edits_in_the_admin_go_through_the_service_and_are_audited(client, login_as, csrf_from):
    admin, station, other = make_admin(), make_station(), make_station()
    login_as(admin)
    token = csrf_from("/admin/service_points/new/")
    assert client.post("/admin/service_points/new/", data={
        "name": "牙象村", "station": str(station.id), "csrf_token": token}).status_code == 302
    point = db.session.scalar(select(ServicePoint).where(ServicePoint.name == "牙象村"))
    assert client.post(f"/admin/service_points/edit/?id={point.id}", data={
        "name": "牙象村", "station": str(other.id), "csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.get(ServicePoint, point.id).station_id == other.id
    events = _audit_rows("service_point_changed")
    assert [(event.object_id, event.details["created"]) for event in events] == [(point.id, True), (point.id, False)]
    assert events[-1].details["fields"] == ["station"]


def test_audit_log_is_read_only(client, login_as, csrf_from):
    admin = make_admin()
    login_as(admin)
    [event] = _audit_rows("login")
    token = csrf_from("/admin/audit_log/")
    assert "/admin/audit_log/new/" not in _page(client, "/admin/audit_log/")
    assert client.get("/admin/audit_log/new/").status_code == 302
    client.post(f"/admin/audit_log/edit/?id={event.id}", data={"action": "export", "csrf_token": token})
    client.post("/admin/audit_log/delete/", data={"id": str(event.id), "csrf_token": token})
    client.post("/admin/audit_log/new/", data={"action": "export", "csrf_token": token})
    db.session.expire_all()
    assert db.session.get(AuditEvent, event.id).action == "login"
    assert _audit_rows("export") == []
    assert _page(client, f"/admin/audit_log/details/?id={event.id}")


def _filter_arg(app, label: str) -> str:
    """The URL argument of an audit-log filter, found by its label (Flask-Admin numbers filters by position)."""
    view = next(view for view in app.extensions["admin"][0]._views if getattr(view, "endpoint", "") == "audit_log")
    index = next(index for index, flt in enumerate(view._filters) if str(flt.name) == label)
    return f"flt0_{index}"


def _table_body(html: str) -> str:
    return html.split("</thead>", 1)[1].split("</table>", 1)[0]


def test_audit_log_filters_by_action_and_actor(app, client, login_as):
    admin = make_admin(username="chief")
    worker = make_worker(username="field_worker")
    login_as(admin)
    deactivate_user(worker, actor=admin)

    by_action = _table_body(_page(client, f"/admin/audit_log/?{_filter_arg(app, '操作')}=user_deactivated"))
    assert "停用账号" in by_action and "登录" not in by_action

    by_actor = _table_body(_page(client, f"/admin/audit_log/?{_filter_arg(app, '操作人（用户名）')}=nobody"))
    assert "停用账号" not in by_actor and "登录" not in by_actor
    by_actor = _table_body(_page(client, f"/admin/audit_log/?{_filter_arg(app, '操作人（用户名）')}=chief"))
    assert "停用账号" in by_actor and "登录" in by_actor


def test_anonymous_management_urls_go_to_login(client):
    worker = make_worker()
    assert redirects_to_login(client.get(f"/admin/users/details/?id={worker.id}"))
