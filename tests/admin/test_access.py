"""Access to the admin site: login, throttling, CSRF, safe redirects, idle timeout, deactivation, cookies."""

import pytest
from flask import current_app
from sqlalchemy import select
from werkzeug.routing import AnyConverter

from extensions import db
from models import AuditEvent, User
from services.accounts.users import deactivate_user
from tests.admin.conftest import csrf_token_from, redirects_to_login
from tests.factories import PASSWORD, make_admin, make_station, make_supervisor, make_worker

PUBLIC_ENDPOINTS = {"admin_auth.login", "admin_auth.switch_language", "admin_auth.logout"}


def _admin_urls(app) -> list[tuple[str, str]]:
    """Every admin URL (arguments filled with a valid placeholder) and a method it answers to."""
    adapter = app.url_map.bind("localhost")
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        if rule.endpoint.endswith(".static"):
            continue
        values = {}
        for argument in rule.arguments:
            converter = rule._converters[argument]
            values[argument] = sorted(converter.items)[0] if isinstance(converter, AnyConverter) else "1"
        method = "GET" if "GET" in rule.methods else "POST"
        urls.append((method, adapter.build(rule.endpoint, values, method=method)))
    return urls


def test_every_admin_url_sends_anonymous_visitors_to_login(app, client):
    urls = _admin_urls(app)
    assert ("GET", "/admin/users/") in urls and ("POST", "/admin/users/action/") in urls
    current_app.config["WTF_CSRF_ENABLED"] = False  # so a POST reaches the access check at all
    for method, url in urls:
        response = client.open(url, method=method)
        assert redirects_to_login(response), f"{method} {url} answered {response.status_code}"


def test_login_with_the_right_password_opens_the_index(client, login_as):
    supervisor = make_supervisor()
    assert login_as(supervisor).headers["Location"].endswith("/admin/")
    assert client.get("/admin/review/").status_code == 200
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "login")) is not None


def test_wrong_password_is_refused_with_a_message(client, login_as):
    supervisor = make_supervisor()
    response = login_as(supervisor, password="not-the-password")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert redirects_to_login(client.get("/admin/"))


def test_sixth_try_is_throttled_even_with_the_right_password(client, login_as):
    supervisor = make_supervisor()
    for _ in range(current_app.config["LOGIN_MAX_FAILURES"]):
        assert login_as(supervisor, password="not-the-password").status_code == 401
    response = login_as(supervisor)
    assert response.status_code == 429
    assert "登录失败次数过多" in response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) > 0
    assert redirects_to_login(client.get("/admin/"))


def test_worker_is_never_logged_in_to_the_admin(client, login_as):
    response = login_as(make_worker())
    assert response.status_code == 403
    assert "手机" in response.get_data(as_text=True)
    assert redirects_to_login(client.get("/admin/"))


def test_deactivated_account_cannot_log_in(client, login_as):
    supervisor = make_supervisor(active=False)
    assert login_as(supervisor).status_code == 401
    assert redirects_to_login(client.get("/admin/"))


def test_login_without_csrf_token_is_refused(client):
    supervisor = make_supervisor()
    client.get("/admin/login")
    response = client.post("/admin/login", data={"username": supervisor.username, "password": PASSWORD})
    assert response.status_code == 400
    assert redirects_to_login(client.get("/admin/"))


def test_logout_needs_a_csrf_token(client, login_as, csrf_from):
    supervisor = make_supervisor()
    login_as(supervisor)
    assert client.post("/admin/logout").status_code == 400
    assert client.get("/admin/review/").status_code == 200

    response = client.post("/admin/logout", data={"csrf_token": csrf_from("/admin/review/")})
    assert redirects_to_login(response)
    assert redirects_to_login(client.get("/admin/"))
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "logout",
                                                      AuditEvent.actor_id == supervisor.id)) is not None


def test_logout_by_get_is_not_allowed(client, login_as):
    login_as(make_supervisor())
    assert client.get("/admin/logout").status_code == 405
    assert client.get("/admin/review/").status_code == 200


def test_create_without_csrf_token_changes_nothing(client, login_as):
    station = make_station()
    login_as(make_admin())
    response = client.post("/admin/users/new/", data={"username": "intruder", "role": "worker",
                                                      "station": str(station.id), "password": "long-enough-1"})
    assert response.status_code == 400
    assert db.session.scalar(select(User).where(User.username == "intruder")) is None


@pytest.mark.parametrize("target", [
    "//evil.example/", "http://evil.example/", "https://evil.example/admin/", "/\\evil.example",
    "\\\\evil.example", "javascript:alert(1)", "https:evil.example", "/\t/evil.example", "evil.example",
])
def test_open_redirect_attempts_land_on_the_index(client, csrf_from, target):
    supervisor = make_supervisor()
    response = client.post("/admin/login", query_string={"next": target},
                           data={"username": supervisor.username, "password": PASSWORD,
                                 "csrf_token": csrf_from()})
    assert response.status_code == 302
    assert response.headers["Location"] in ("/admin/", "http://localhost/admin/")


def test_same_site_next_is_followed_after_login(client):
    supervisor = make_supervisor()
    response = client.get("/admin/users/")
    assert redirects_to_login(response)
    login_page = client.get(response.headers["Location"])
    response = client.post(response.headers["Location"],
                           data={"username": supervisor.username, "password": PASSWORD,
                                 "csrf_token": csrf_token_from(login_page.get_data(as_text=True))})
    assert response.headers["Location"].startswith("/admin/users/")


def test_idle_session_is_logged_out(client, login_as):
    login_as(make_supervisor())
    idle_limit = int(current_app.config["ADMIN_IDLE_TIMEOUT"].total_seconds())
    with client.session_transaction() as session:
        session["admin_last_seen"] -= idle_limit - 60
    assert client.get("/admin/review/").status_code == 200  # a request inside the limit keeps the session alive

    with client.session_transaction() as session:
        session["admin_last_seen"] -= idle_limit + 1
    assert redirects_to_login(client.get("/admin/"))
    assert redirects_to_login(client.get("/admin/"))


def test_deactivated_users_session_stops_at_the_next_request(client, login_as):
    supervisor = make_supervisor()
    login_as(supervisor)
    assert client.get("/admin/review/").status_code == 200
    deactivate_user(supervisor, actor=make_admin())
    assert redirects_to_login(client.get("/admin/"))


def test_session_cookie_is_httponly_and_samesite_lax(client, login_as):
    response = login_as(make_supervisor())
    cookie = next(cookie for cookie in response.headers.getlist("Set-Cookie") if cookie.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_session_cookie_is_secure_when_configured(client):
    current_app.config["SESSION_COOKIE_SECURE"] = True
    response = client.get("/admin/login")  # the form's CSRF token starts the session
    session_cookie = next(cookie for cookie in response.headers.getlist("Set-Cookie")
                          if cookie.startswith("session="))
    assert "Secure" in session_cookie
