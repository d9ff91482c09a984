"""POST /api/v1/auth/wechat and /auth/wechat/bind over HTTP, against the real loopback stand-in for code2Session."""

import logging

import pytest
from sqlalchemy import select

from extensions import db
from models import User
from services.accounts.wechat import make_bind_ticket
from tests.factories import PASSWORD, make_worker
from tests.services.accounts.test_wechat import APP_SECRET, SESSION_KEY, Code2SessionStandIn

LOGIN_URL = "/api/v1/auth/wechat"
BIND_URL = "/api/v1/auth/wechat/bind"


@pytest.fixture
def wechat(app):
    """The code2Session stand-in on loopback, with the app configured to call it."""
    with Code2SessionStandIn() as stand_in:
        app.config.update(WECHAT_APPID="wx-stand-in-appid", WECHAT_SECRET=APP_SECRET,
                          WECHAT_API_BASE=stand_in.base_url, WECHAT_TIMEOUT_SECONDS=2)
        yield stand_in


def bind(client, ticket, username, password=PASSWORD):
    return client.post(BIND_URL, json={"ticket": ticket, "username": username, "password": password})


def test_a_bound_openid_gets_a_token_that_opens_me(client, wechat):
    worker = make_worker(wechat_openid="openid-bound")
    wechat.session_for("code-ok", "openid-bound")
    response = client.post(LOGIN_URL, json={"code": "code-ok"})
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"token", "expires_at", "user"}
    assert body["user"]["id"] == worker.id
    assert SESSION_KEY not in response.get_data(as_text=True)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"}).status_code == 200


def test_an_unbound_openid_is_403_with_a_ticket_that_binds_and_logs_in(client, wechat):
    worker = make_worker()
    wechat.session_for("code-new", "openid-new")
    refused = client.post(LOGIN_URL, json={"code": "code-new"})
    assert refused.status_code == 403
    body = refused.get_json()
    assert body["error"]["code"] == "wechat_unbound"
    assert body["bind_ticket_expires_in"] > 0
    assert "openid-new" not in refused.get_data(as_text=True).replace(body["bind_ticket"], "")
    assert SESSION_KEY not in refused.get_data(as_text=True)

    bound = bind(client, body["bind_ticket"], worker.username)
    assert bound.status_code == 200
    assert bound.get_json()["user"]["id"] == worker.id
    assert db.session.scalar(select(User.wechat_openid).where(User.id == worker.id)) == "openid-new"
    again = client.post(LOGIN_URL, json={"code": "code-new"})
    assert again.status_code == 200 and again.get_json()["user"]["id"] == worker.id


@pytest.mark.parametrize(
    ("errcode", "status", "code"),
    [(40029, 401, "wechat_code_invalid"), (45011, 429, "wechat_rate_limited"), (-1, 503, "wechat_busy"),
     (40163, 502, "wechat_error")],
)
def test_wechat_errcodes_answer_with_the_error_shape(client, wechat, caplog, errcode, status, code):
    caplog.set_level(logging.DEBUG)
    wechat.answer("code", {"errcode": errcode, "errmsg": "refused", "session_key": SESSION_KEY})
    response = client.post(LOGIN_URL, json={"code": "code"})
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    assert SESSION_KEY not in response.get_data(as_text=True)
    assert SESSION_KEY not in caplog.text


def test_a_garbled_reply_is_502_and_an_unreachable_wechat_is_503(app, client, wechat):
    wechat.answer("garbled", b"<html>502 Bad Gateway</html>")
    response = client.post(LOGIN_URL, json={"code": "garbled"})
    assert response.status_code == 502
    assert response.get_json()["error"]["code"] == "wechat_bad_response"
    wechat.server.shutdown()
    wechat.server.server_close()
    response = client.post(LOGIN_URL, json={"code": "any"})
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "wechat_unavailable"


def test_without_configuration_the_login_is_503(app, client):
    app.config["WECHAT_APPID"] = ""
    response = client.post(LOGIN_URL, json={"code": "code"})
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "wechat_not_configured"


@pytest.mark.parametrize(
    ("body", "status"),
    [({}, 422), ({"code": ""}, 422), ({"code": 5}, 422), ({"code": "c" * 129}, 422), (["code"], 400)],
)
def test_bad_login_bodies_are_4xx_and_call_nobody(client, wechat, body, status):
    response = client.post(LOGIN_URL, json=body)
    assert response.status_code == status
    assert wechat.requests == []


def test_binding_with_a_wrong_password_is_401_and_binds_nothing(client):
    worker = make_worker()
    response = bind(client, make_bind_ticket("openid-w"), worker.username, "wrong-password")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_credentials"
    assert db.session.scalar(select(User.wechat_openid).where(User.id == worker.id)) is None


def test_binding_is_throttled_like_the_password_login(client):
    worker = make_worker()
    ticket = make_bind_ticket("openid-t")
    for _ in range(5):
        assert bind(client, ticket, worker.username, "wrong-password").status_code == 401
    response = bind(client, ticket, worker.username)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0


@pytest.mark.parametrize("ticket", ["forged.ticket.value", "x"])
def test_binding_with_a_forged_ticket_is_401(client, ticket):
    worker = make_worker()
    response = bind(client, ticket, worker.username)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "bind_ticket_invalid"


def test_binding_with_an_expired_ticket_is_401(app, client):
    worker = make_worker()
    ticket = make_bind_ticket("openid-late")
    app.config["WECHAT_BIND_TICKET_SECONDS"] = -1  # every ticket is now past its age
    response = bind(client, ticket, worker.username)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "bind_ticket_expired"


def test_binding_an_openid_of_someone_else_is_409(client):
    make_worker(wechat_openid="openid-taken")
    other = make_worker()
    response = bind(client, make_bind_ticket("openid-taken"), other.username)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "wechat_already_bound"


def test_binding_an_account_that_has_another_openid_is_409(client):
    worker = make_worker(wechat_openid="openid-first")
    response = bind(client, make_bind_ticket("openid-second"), worker.username)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "wechat_account_already_bound"
    assert db.session.scalar(select(User.wechat_openid).where(User.id == worker.id)) == "openid-first"
