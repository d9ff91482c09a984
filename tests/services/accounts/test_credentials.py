"""Login throttling: per (username, address) and per address, atomic, in the database, never a lock-out by strangers."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import update

from extensions import db
from factory import create_app
from models import LoginThrottle, utcnow
from services.accounts.credentials import authenticate
from services.errors import TooManyRequests, Unauthorized
from tests.factories import PASSWORD, make_worker

ATTACKER, OWNER_PHONE = "203.0.113.7", "198.51.100.20"


def attempt(username, password, ip) -> str:
    """'ok', 'wrong' or 'throttled'."""
    try:
        authenticate(username, password, ip=ip)
    except TooManyRequests:
        return "throttled"
    except Unauthorized:
        return "wrong"
    return "ok"


def test_failures_from_another_address_never_lock_the_owner_out(app):
    worker = make_worker()
    for _ in range(30):
        attempt(worker.username, "guess", ATTACKER)
    assert attempt(worker.username, PASSWORD, ATTACKER) == "throttled"
    assert attempt(worker.username, PASSWORD, OWNER_PHONE) == "ok"


def test_the_pair_limit_holds_even_for_the_right_password(app):
    worker = make_worker()
    results = [attempt(worker.username, "guess", ATTACKER) for _ in range(app.config["LOGIN_MAX_FAILURES"])]
    assert results == ["wrong"] * 5
    assert attempt(worker.username, PASSWORD, ATTACKER) == "throttled"


def test_spraying_usernames_from_one_address_is_cut_at_the_address_limit(app):
    limit = app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"]
    results = [attempt(f"user{n}", "guess", ATTACKER) for n in range(35)]
    assert results == ["wrong"] * limit + ["throttled"] * (35 - limit)
    worker = make_worker()
    assert attempt(worker.username, PASSWORD, OWNER_PHONE) == "ok"


def test_a_success_clears_the_pair_and_does_not_charge_the_address(app):
    worker = make_worker()
    for _ in range(4):
        attempt(worker.username, "guess", OWNER_PHONE)
    assert attempt(worker.username, PASSWORD, OWNER_PHONE) == "ok"
    assert [attempt(worker.username, "typo", OWNER_PHONE) for _ in range(5)] == ["wrong"] * 5
    address = db.session.get(LoginThrottle, f"address:{OWNER_PHONE}")
    assert address.failures == 9


def test_a_lock_out_ends_with_its_window_and_refusals_do_not_extend_it(app):
    worker = make_worker()
    for _ in range(5):
        attempt(worker.username, "guess", ATTACKER)
    for _ in range(10):
        assert attempt(worker.username, PASSWORD, ATTACKER) == "throttled"
    window = app.config["LOGIN_FAILURE_WINDOW"]
    db.session.execute(update(LoginThrottle).values(window_started_at=utcnow() - window - timedelta(seconds=1)))
    db.session.commit()
    assert attempt(worker.username, PASSWORD, ATTACKER) == "ok"


def test_concurrent_guesses_get_exactly_the_allowed_tries(app, is_postgres):
    if not is_postgres:
        pytest.skip("concurrency is tested on PostgreSQL (SQLite serialises every write)")
    worker = make_worker()
    username = worker.username
    results, start = [], threading.Barrier(30)

    def guess():
        with app.app_context():
            start.wait()
            results.append(attempt(username, "guess", ATTACKER))
            db.session.remove()

    threads = [threading.Thread(target=guess) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == sorted(["wrong"] * 5 + ["throttled"] * 25)


def login_from(client, username, password, forwarded_for):
    return client.post("/api/v1/auth/login", json={"username": username, "password": password},
                       headers={"X-Forwarded-For": forwarded_for})


def test_x_forwarded_for_is_believed_only_from_trusted_proxies(app):
    worker = make_worker()
    behind_proxy = create_app({**app.config, "TRUSTED_PROXIES": 1}).test_client()
    for _ in range(5):
        assert login_from(behind_proxy, worker.username, "guess", ATTACKER).status_code == 401
    assert login_from(behind_proxy, worker.username, PASSWORD, ATTACKER).status_code == 429
    assert login_from(behind_proxy, worker.username, PASSWORD, OWNER_PHONE).status_code == 200

    other = make_worker()
    direct = create_app({**app.config, "TRUSTED_PROXIES": 0}).test_client()
    for n in range(5):
        login_from(direct, other.username, "guess", f"10.0.0.{n}")  # a forged header changes nothing
    assert login_from(direct, other.username, PASSWORD, OWNER_PHONE).status_code == 429
