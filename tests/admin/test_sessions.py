"""Admin sessions end on logout, password change, role or station change and deactivation, on every device."""

import pytest

from extensions import db
from services.accounts.users import deactivate_user, set_password, update_user
from tests.admin.conftest import csrf_token_from, redirects_to_login
from tests.factories import make_station, make_supervisor


@pytest.fixture
def supervisor(app):
    return make_supervisor()


def second_device(app, client):
    """Another browser holding a copy of the same session cookie (a captured cookie)."""
    other = app.test_client()
    cookie = client.get_cookie("session")
    other.set_cookie("session", cookie.value, domain=cookie.domain)
    return other


def test_a_captured_cookie_stops_working_after_logout(app, client, login_as, supervisor):
    login_as(supervisor)
    captured = second_device(app, client)
    assert captured.get("/admin/review/").status_code == 200
    token = csrf_token_from(client.get("/admin/review/").get_data(as_text=True))
    client.post("/admin/logout", data={"csrf_token": token})
    assert redirects_to_login(captured.get("/admin/review/"))


@pytest.mark.parametrize("change", ["password", "role", "stations", "deactivation"])
def test_every_session_ends_when_the_account_changes(app, client, login_as, supervisor, change):
    login_as(supervisor)
    captured = second_device(app, client)
    assert client.get("/admin/review/").status_code == 200
    if change == "password":
        set_password(supervisor, "a-new-password-42")
    elif change == "role":
        update_user(supervisor, display_name="x", phone=None, role="admin", station_codes=[])
    elif change == "stations":
        update_user(supervisor, display_name="x", phone=None, role="supervisor",
                    station_codes=[make_station().code])
    else:
        deactivate_user(supervisor)
    db.session.expire_all()
    assert redirects_to_login(client.get("/admin/review/"))
    assert redirects_to_login(captured.get("/admin/review/"))


def test_an_unrelated_edit_keeps_the_session(client, login_as, supervisor):
    login_as(supervisor)
    update_user(supervisor, display_name="新名字", phone="123", role="supervisor",
                station_codes=[station.code for station in supervisor.supervised_stations])
    assert client.get("/admin/review/").status_code == 200


def test_a_new_login_after_the_change_works(client, login_as, supervisor):
    login_as(supervisor)
    set_password(supervisor, "a-new-password-42")
    assert redirects_to_login(client.get("/admin/review/"))
    login_as(supervisor, password="a-new-password-42")
    assert client.get("/admin/review/").status_code == 200
