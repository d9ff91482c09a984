"""POST /auth/login, /auth/logout, GET /me: tokens, expiry, revocation, throttling, bad input."""

from sqlalchemy import func, select

from extensions import db
from models import ApiToken, LoginAttempt
from services.accounts.users import deactivate_user
from tests.factories import PASSWORD, auth_headers, expire_tokens, make_worker


def login(client, username, password=PASSWORD):
    return client.post("/api/v1/auth/login", json={"username": username, "password": password})


def test_login_returns_a_token_that_opens_me(client):
    worker = make_worker(display_name="李敏")
    response = login(client, worker.username)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"token", "expires_at", "user"}
    assert body["user"]["username"] == worker.username
    assert body["user"]["station"]["code"] == worker.station.code
    assert "password_hash" not in body["user"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.get_json()["display_name"] == "李敏"


def test_only_the_hash_of_a_token_is_stored(client):
    worker = make_worker()
    token = login(client, worker.username).get_json()["token"]
    stored = db.session.scalar(select(ApiToken.token_hash))
    assert stored != token and len(stored) == 64


def test_wrong_password_is_401_with_the_error_shape(client):
    worker = make_worker()
    response = login(client, worker.username, "wrong")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_credentials"


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(client):
    response = login(client, "nobody")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_credentials"


def test_me_without_or_with_a_bad_token_is_401(client):
    assert client.get("/api/v1/me").status_code == 401
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_token"


def test_logout_revokes_only_that_token(client):
    worker = make_worker()
    first, second = auth_headers(worker), auth_headers(worker)
    assert client.post("/api/v1/auth/logout", headers=first).status_code == 204
    assert client.get("/api/v1/me", headers=first).status_code == 401
    assert client.get("/api/v1/me", headers=second).status_code == 200


def test_expired_token_is_refused(client):
    worker = make_worker()
    headers = auth_headers(worker)
    expire_tokens(worker)
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_deactivation_stops_tokens_at_once(client):
    worker = make_worker()
    headers = auth_headers(worker)
    deactivate_user(worker)
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert login(client, worker.username).status_code == 401


def test_five_failures_throttle_even_the_right_password(client):
    worker = make_worker()
    for _ in range(5):
        assert login(client, worker.username, "wrong").status_code == 401
    response = login(client, worker.username)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert response.get_json()["error"]["code"] == "too_many_attempts"
    # Kept in the database, so every worker process sees the same count.
    assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == 5


def test_throttling_is_per_username(client):
    victim, other = make_worker(), make_worker()
    for _ in range(5):
        login(client, victim.username, "wrong")
    assert login(client, other.username).status_code == 200


def test_bad_login_bodies_are_4xx_with_the_error_shape(client):
    cases = [
        client.post("/api/v1/auth/login", json={"username": "a"}),
        client.post("/api/v1/auth/login", json={"username": 5, "password": "x"}),
        client.post("/api/v1/auth/login", json={"username": "u" * 10_000, "password": "x"}),
        client.post("/api/v1/auth/login", data="not json", content_type="application/json"),
        client.post("/api/v1/auth/login", data="username=a&password=b"),
        client.post("/api/v1/auth/login", json=["a", "b"]),
    ]
    for response in cases:
        assert response.status_code in (400, 422), response.status_code
        assert set(response.get_json()["error"]) >= {"code", "message"}
    assert cases[0].get_json()["error"]["fields"] == {"password": ["缺少必填字段"]}


def test_unknown_api_route_and_wrong_method_are_json(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    response = client.get("/api/v1/auth/login")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
