"""Accounts in the admin: deactivate and re-activate from the account's own page (confirmation, POST with CSRF) or in
bulk, never one's own account; every field problem of the account form shown at once, in the page's language."""

import pytest
from sqlalchemy import select

from extensions import db
from models import AuditEvent, User
from services.accounts.credentials import authenticate
from tests.admin.conftest import csrf_token_from
from tests.factories import PASSWORD, auth_headers, make_admin, make_station, make_supervisor, make_worker


def _audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def _switch_to(client, csrf_from, locale: str) -> None:
    client.post("/admin/language", data={"locale": locale, "next": "/admin/users/",
                                         "csrf_token": csrf_from("/admin/users/")})


# --- from the account's own page -------------------------------------------------------------------------------

def test_deactivate_from_the_accounts_page_after_a_confirmation(client, login_as):
    worker = make_worker(display_name="王小明")
    headers = auth_headers(worker)
    login_as(make_admin())
    details = client.get(f"/admin/users/details/?id={worker.id}").get_data(as_text=True)
    assert f"/admin/users/status/?id={worker.id}" in details and "停用账号" in details
    confirmation = client.get(f"/admin/users/status/?id={worker.id}")
    page = confirmation.get_data(as_text=True)
    assert "停用 王小明 的账号？" in page
    db.session.expire_all()
    assert worker.active  # showing the confirmation changes nothing
    response = client.post(f"/admin/users/status/?id={worker.id}",
                           data={"active": "0", "csrf_token": csrf_token_from(page)})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/users/details/?id={worker.id}")
    db.session.expire_all()
    assert not worker.active
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert _audit_actions()[-1] == "user_deactivated"


def test_reactivate_from_the_accounts_page(client, login_as):
    worker = make_worker(display_name="王小明", active=False)
    admin = make_admin()
    login_as(admin)
    details = client.get(f"/admin/users/details/?id={worker.id}").get_data(as_text=True)
    assert "重新启用账号" in details
    page = client.get(f"/admin/users/status/?id={worker.id}").get_data(as_text=True)
    assert "重新启用 王小明 的账号？" in page
    response = client.post(f"/admin/users/status/?id={worker.id}",
                           data={"active": "1", "csrf_token": csrf_token_from(page)}, follow_redirects=True)
    assert "王小明 的账号已启用。" in response.get_data(as_text=True)
    db.session.expire_all()
    assert worker.active
    assert authenticate(worker.username, PASSWORD).id == worker.id
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user_reactivated")).one()
    assert (event.actor_id, event.object_id) == (admin.id, worker.id)


def test_the_account_page_speaks_english_when_switched(client, login_as, csrf_from):
    worker = make_worker(display_name="Wang", active=False)
    login_as(make_admin())
    _switch_to(client, csrf_from, "en")
    assert "Re-activate account" in client.get(f"/admin/users/details/?id={worker.id}").get_data(as_text=True)
    assert "Re-activate the account of Wang?" in client.get(f"/admin/users/status/?id={worker.id}").get_data(
        as_text=True)


def test_a_stale_or_repeated_submission_never_flips_the_account_back(client, login_as, csrf_from):
    worker = make_worker()
    login_as(make_admin())
    token = csrf_from(f"/admin/users/status/?id={worker.id}")
    for _ in range(2):
        client.post(f"/admin/users/status/?id={worker.id}", data={"active": "0", "csrf_token": token})
    db.session.expire_all()
    assert not worker.active
    assert _audit_actions().count("user_deactivated") == 1


def test_status_change_without_csrf_token_changes_nothing(client, login_as):
    worker = make_worker()
    login_as(make_admin())
    assert client.post(f"/admin/users/status/?id={worker.id}", data={"active": "0"}).status_code == 400
    db.session.expire_all()
    assert worker.active


def test_supervisors_cannot_change_an_accounts_status(client, login_as, csrf_from):
    station = make_station()
    worker = make_worker(station)
    login_as(make_supervisor(station))
    assert "/admin/users/status/" not in client.get(f"/admin/users/details/?id={worker.id}").get_data(as_text=True)
    assert client.get(f"/admin/users/status/?id={worker.id}").status_code == 403
    assert client.post(f"/admin/users/status/?id={worker.id}",
                       data={"active": "0", "csrf_token": csrf_from("/admin/users/")}).status_code == 403
    db.session.expire_all()
    assert worker.active


def test_an_admin_cannot_deactivate_their_own_account(client, login_as, csrf_from):
    admin = make_admin()
    login_as(admin)
    assert "/admin/users/status/" not in client.get(f"/admin/users/details/?id={admin.id}").get_data(as_text=True)
    response = client.post(f"/admin/users/status/?id={admin.id}",
                           data={"active": "0", "csrf_token": csrf_from("/admin/users/")}, follow_redirects=True)
    assert "不能停用或启用自己的账号" in response.get_data(as_text=True)
    db.session.expire_all()
    assert admin.active
    assert "user_deactivated" not in _audit_actions()


# --- in bulk ---------------------------------------------------------------------------------------------------

def test_bulk_reactivation(client, login_as, csrf_from):
    first, second = make_worker(active=False), make_worker(active=False)
    login_as(make_admin())
    response = client.post("/admin/users/action/", data={
        "action": "reactivate", "rowid": [str(first.id), str(second.id)], "csrf_token": csrf_from("/admin/users/"),
    }, follow_redirects=True)
    assert "已重新启用 2 个账号。" in response.get_data(as_text=True)
    db.session.expire_all()
    assert first.active and second.active
    assert _audit_actions().count("user_reactivated") == 2


def test_bulk_deactivation_skips_ones_own_account_with_the_reason(client, login_as, csrf_from):
    admin, worker = make_admin(), make_worker()
    login_as(admin)
    response = client.post("/admin/users/action/", data={
        "action": "deactivate", "rowid": [str(admin.id), str(worker.id)], "csrf_token": csrf_from("/admin/users/"),
    }, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "不能停用或启用自己的账号" in html and "已停用 1 个账号。" in html
    db.session.expire_all()
    assert admin.active and not worker.active


# --- every problem of the form at once --------------------------------------------------------------------------

@pytest.mark.parametrize(("locale", "words"), [
    ("zh_Hans_CN", ["用户名 taken_name 已存在", "密码至少 8 位", "社工须属于一个社工站"]),
    ("en", ["The username taken_name is already taken.", "A password needs at least",
            "A social worker belongs to exactly one station."]),
])
def test_account_form_shows_every_problem_at_once(client, login_as, csrf_from, locale, words):
    make_worker(username="taken_name")
    login_as(make_admin())
    _switch_to(client, csrf_from, locale)
    response = client.post("/admin/users/new/", data={
        "username": "taken_name", "role": "worker", "password": "short", "csrf_token": csrf_from("/admin/users/new/"),
    })
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for sentence in words:
        assert sentence in html, sentence
    assert db.session.query(User).filter_by(username="taken_name").count() == 1


def test_editing_a_supervisor_without_stations_shows_the_problem_under_the_field(client, login_as, csrf_from):
    supervisor = make_supervisor(make_station())
    login_as(make_admin())
    url = f"/admin/users/edit/?id={supervisor.id}"
    response = client.post(url, data={"display_name": "x", "role": "supervisor", "csrf_token": csrf_from(url)})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.count("督导员须至少督导一个社工站") >= 2  # the flash and the field's own message
    db.session.expire_all()
    assert supervisor.supervised_stations
