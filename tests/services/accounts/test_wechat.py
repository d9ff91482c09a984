"""services.wechat against a real stand-in code2Session server on 127.0.0.1: errcodes, failures, tickets, binding."""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from extensions import db
from models import AuditEvent, User
from services.accounts.wechat import (
    BIND_TICKET_SALT,
    WechatUnbound,
    bind_wechat,
    code_to_openid,
    login_with_wechat,
    make_bind_ticket,
    openid_from_ticket,
)
from services.errors import ServiceError
from tests.factories import PASSWORD, make_worker

pytestmark = pytest.mark.usefixtures("app")

SESSION_KEY = "tiHKSESSIONKEYmustNEVERleak=="
APP_SECRET = "stand-in-app-secret-5f1c"


class Code2SessionStandIn:
    """A real HTTP server on loopback that answers /sns/jscode2session like WeChat, per js_code."""

    def __init__(self):
        self.replies: dict[str, tuple[int, bytes, float]] = {}
        self.requests: list[dict[str, list[str]]] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = urlparse(self.path)
                query = parse_qs(url.query)
                stand_in.requests.append(query)
                default = (200, json.dumps({"errcode": 40029, "errmsg": "invalid code"}).encode(), 0.0)
                status, body, delay = stand_in.replies.get(query.get("js_code", [""])[0], default)
                if url.path != "/sns/jscode2session":
                    status, body, delay = 404, b"not found", 0.0
                time.sleep(delay)
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")  # WeChat really answers JSON as text/plain
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # a client that timed out and hung up is expected here

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def answer(self, code: str, reply: dict | bytes, *, status: int = 200, delay: float = 0.0) -> None:
        body = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
        self.replies[code] = (status, body, delay)

    def session_for(self, code: str, openid: str) -> None:
        self.answer(code, {"openid": openid, "session_key": SESSION_KEY, "unionid": "union-" + openid})

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def wechat(app):
    """The stand-in, with the app configured to call it."""
    with Code2SessionStandIn() as stand_in:
        app.config.update(WECHAT_APPID="wx-stand-in-appid", WECHAT_SECRET=APP_SECRET,
                          WECHAT_API_BASE=stand_in.base_url + "/", WECHAT_TIMEOUT_SECONDS=2)
        yield stand_in


def raised(call, *args) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        call(*args)
    return caught.value


def test_code2session_is_called_with_the_app_credentials_and_gives_the_openid(wechat):
    wechat.session_for("code-1", "openid-1")
    assert code_to_openid("code-1") == "openid-1"
    assert wechat.requests == [{"appid": ["wx-stand-in-appid"], "secret": [APP_SECRET], "js_code": ["code-1"],
                                "grant_type": ["authorization_code"]}]


@pytest.mark.parametrize(
    ("errcode", "status", "code"),
    [(40029, 401, "wechat_code_invalid"), (45011, 429, "wechat_rate_limited"), (-1, 503, "wechat_busy"),
     (40163, 502, "wechat_error"), (40226, 502, "wechat_error"), ("40029", 502, "wechat_error")],
)
def test_errcodes_map_to_statuses(wechat, errcode, status, code):
    wechat.answer("code", {"errcode": errcode, "errmsg": "refused", "session_key": SESSION_KEY})
    error = raised(code_to_openid, "code")
    assert (error.status, error.code) == (status, code)
    assert SESSION_KEY not in error.message


def test_rate_limiting_tells_when_to_retry(wechat):
    wechat.answer("code", {"errcode": 45011, "errmsg": "api minute-quota reach limit"})
    assert int(raised(code_to_openid, "code").headers["Retry-After"]) > 0


@pytest.mark.parametrize(
    "reply",
    [b"<html>gateway error</html>", b"", b"[1, 2]", b'{"errcode": 0}', b'{"openid": 5}', b'{"openid": ""}',
     b'{"openid": "' + b"x" * 100_000 + b'"}'],
    ids=["html", "empty", "array", "no-openid", "number-openid", "empty-openid", "huge"],
)
def test_a_reply_that_is_not_a_usable_session_is_502(wechat, reply):
    wechat.answer("code", reply)
    error = raised(code_to_openid, "code")
    assert (error.status, error.code) == (502, "wechat_bad_response")


def test_an_http_error_from_wechat_is_502(wechat):
    wechat.answer("code", b"upstream broke", status=500)
    assert raised(code_to_openid, "code").status == 502


def test_a_timeout_is_503(app, wechat):
    app.config["WECHAT_TIMEOUT_SECONDS"] = 0.2
    wechat.session_for("slow", "openid-slow")
    wechat.replies["slow"] = (*wechat.replies["slow"][:2], 2.0)
    error = raised(code_to_openid, "slow")
    assert (error.status, error.code) == (503, "wechat_unavailable")


def test_an_unreachable_wechat_is_503(app):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    app.config.update(WECHAT_APPID="wx", WECHAT_SECRET="s", WECHAT_API_BASE=f"http://127.0.0.1:{closed_port}")
    error = raised(code_to_openid, "code")
    assert (error.status, error.code) == (503, "wechat_unavailable")


@pytest.mark.parametrize("missing", ["WECHAT_APPID", "WECHAT_SECRET"])
def test_without_configuration_it_is_503_and_nothing_is_sent(app, wechat, missing):
    app.config[missing] = ""
    error = raised(code_to_openid, "code")
    assert (error.status, error.code) == (503, "wechat_not_configured")
    assert wechat.requests == []


def test_neither_the_session_key_nor_the_secret_is_ever_logged(app, wechat, caplog):
    caplog.set_level(logging.DEBUG)
    wechat.session_for("good", "openid-log")
    wechat.answer("refused", {"errcode": 40163, "errmsg": "code been used", "session_key": SESSION_KEY})
    wechat.answer("garbled", b"session_key=" + SESSION_KEY.encode())
    code_to_openid("good")
    for code in ("refused", "garbled"):
        raised(code_to_openid, code)
    assert caplog.records, "the refusals are logged"
    assert SESSION_KEY not in caplog.text
    assert APP_SECRET not in caplog.text


def test_a_bind_ticket_carries_the_openid():
    assert openid_from_ticket(make_bind_ticket("openid-t")) == "openid-t"


class _HourOldSigner(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - 3600


def test_an_expired_ticket_is_refused(app):
    app.config["WECHAT_BIND_TICKET_SECONDS"] = 600
    old = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=BIND_TICKET_SALT, signer=_HourOldSigner)
    error = raised(openid_from_ticket, old.dumps({"openid": "openid-old"}))
    assert (error.status, error.code) == (401, "bind_ticket_expired")


def _with_payload(ticket: str, payload: dict) -> str:
    """The ticket with its payload swapped and its signature kept."""
    _, timestamp, signature = ticket.split(".")
    forged = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")
    return ".".join((forged, timestamp, signature))


@pytest.mark.parametrize(
    "forge",
    [
        lambda app: URLSafeTimedSerializer("another-secret", salt=BIND_TICKET_SALT).dumps({"openid": "o"}),
        lambda app: URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="another-salt").dumps({"openid": "o"}),
        lambda app: URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=BIND_TICKET_SALT).dumps(["o"]),
        lambda app: _with_payload(make_bind_ticket("openid-a"), {"openid": "openid-b"}),
        lambda app: make_bind_ticket("openid-a")[:-2],
        lambda app: "not-a-ticket",
    ],
    ids=["other-secret", "other-salt", "not-an-object", "tampered", "truncated", "garbage"],
)
def test_a_forged_or_damaged_ticket_is_refused(app, forge):
    error = raised(openid_from_ticket, forge(app))
    assert (error.status, error.code) == (401, "bind_ticket_invalid")


def test_an_unbound_openid_gets_a_ticket_for_it(wechat):
    wechat.session_for("code", "openid-new")
    with pytest.raises(WechatUnbound) as caught:
        login_with_wechat("code")
    assert caught.value.status == 403
    assert openid_from_ticket(caught.value.bind_ticket) == "openid-new"


def test_binding_then_logging_in_with_wechat(wechat):
    worker = make_worker()
    wechat.session_for("code", "openid-w")
    login = bind_wechat(make_bind_ticket("openid-w"), worker.username, PASSWORD)
    assert login.user.id == worker.id and login.raw_token
    assert db.session.get(User, worker.id).wechat_openid == "openid-w"
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "wechat_bound")).object_id == worker.id
    assert login_with_wechat("code").user.id == worker.id


def test_binding_the_same_pair_again_is_a_plain_login():
    worker = make_worker(wechat_openid="openid-same")
    assert bind_wechat(make_bind_ticket("openid-same"), worker.username, PASSWORD).user.id == worker.id


def test_a_wrong_password_binds_nothing():
    worker = make_worker()
    error = raised(bind_wechat, make_bind_ticket("openid-x"), worker.username, "wrong-password")
    assert (error.status, error.code) == (401, "invalid_credentials")
    db.session.rollback()
    assert db.session.get(User, worker.id).wechat_openid is None


def test_an_openid_bound_to_someone_else_is_a_conflict():
    make_worker(wechat_openid="openid-taken")
    other = make_worker()
    error = raised(bind_wechat, make_bind_ticket("openid-taken"), other.username, PASSWORD)
    assert (error.status, error.code) == (409, "wechat_already_bound")
    db.session.rollback()
    assert db.session.get(User, other.id).wechat_openid is None


def test_an_account_with_another_openid_is_a_conflict():
    worker = make_worker(wechat_openid="openid-first")
    error = raised(bind_wechat, make_bind_ticket("openid-second"), worker.username, PASSWORD)
    assert (error.status, error.code) == (409, "wechat_account_already_bound")
    db.session.rollback()
    assert db.session.get(User, worker.id).wechat_openid == "openid-first"


def test_a_deactivated_bound_account_cannot_log_in_with_wechat(wechat):
    make_worker(wechat_openid="openid-gone", active=False)
    wechat.session_for("code", "openid-gone")
    error = raised(login_with_wechat, "code")
    assert (error.status, error.code) == (401, "account_inactive")
