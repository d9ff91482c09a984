"""WeChat mini-program login: code2Session, openid binding through a short-lived signed ticket.

WeChat's session_key is dropped the moment the reply is parsed: it is never returned, stored or logged.
Neither is the request URL, which carries the app secret.
"""

from __future__ import annotations

import json
import logging
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import urlopen

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from extensions import db
from models import User
from services.accounts.credentials import IssuedLogin, add_token, authenticate
from services.audit import record_audit
from services.errors import (
    BadGateway,
    Conflict,
    Forbidden,
    ServiceError,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
)

logger = logging.getLogger(__name__)

BIND_TICKET_SALT = "zoufang.wechat-bind-ticket"
# code2Session answers with a few hundred bytes; anything much larger is not WeChat.
MAX_REPLY_BYTES = 64 * 1024


class WechatUnbound(Forbidden):
    """The openid is bound to no account: the phone must log in once with a password to bind it."""

    code = "wechat_unbound"

    def __init__(self, bind_ticket: str, expires_in: int):
        super().__init__("该微信尚未绑定账号，请用账号密码登录一次以完成绑定")
        self.bind_ticket = bind_ticket
        self.expires_in = expires_in


def _require_configuration() -> tuple[str, str]:
    config = current_app.config
    if not config.get("WECHAT_APPID") or not config.get("WECHAT_SECRET"):
        raise ServiceUnavailable("未配置微信登录", code="wechat_not_configured")
    return config["WECHAT_APPID"], config["WECHAT_SECRET"]


def _fetch_code2session(query: dict) -> bytes:
    url = current_app.config["WECHAT_API_BASE"].rstrip("/") + "/sns/jscode2session?" + urlencode(query)
    try:
        with urlopen(url, timeout=current_app.config["WECHAT_TIMEOUT_SECONDS"]) as response:
            return response.read(MAX_REPLY_BYTES + 1)
    except HTTPError as error:
        logger.warning("code2Session answered HTTP %s", error.code)
        raise BadGateway("微信服务返回异常", code="wechat_bad_response") from None
    except (URLError, TimeoutError, OSError) as error:
        logger.warning("code2Session unreachable: %s", type(error).__name__)
        raise ServiceUnavailable("微信服务暂时不可用，请稍后重试", code="wechat_unavailable") from None


def _errcode_error(errcode) -> ServiceError:
    if errcode == 40029:
        return Unauthorized("微信登录凭证无效，请重新登录", code="wechat_code_invalid")
    if errcode == 45011:
        return TooManyRequests("微信登录过于频繁，请稍后再试", code="wechat_rate_limited",
                               headers={"Retry-After": "60"})
    if errcode == -1:
        return ServiceUnavailable("微信服务繁忙，请稍后重试", code="wechat_busy")
    shown = f"（错误码 {errcode}）" if isinstance(errcode, int) else ""
    return BadGateway(f"微信登录失败{shown}", code="wechat_error")


def code_to_openid(code: str) -> str:
    """Exchange a wx.login code for the user's openid through code2Session; map WeChat's failures to errors."""
    appid, secret = _require_configuration()
    body = _fetch_code2session(
        {"appid": appid, "secret": secret, "js_code": code, "grant_type": "authorization_code"}
    )
    try:
        if len(body) > MAX_REPLY_BYTES:
            raise ValueError("reply too large")
        reply = json.loads(body)
    except ValueError:
        logger.warning("code2Session answered with something other than JSON (%d bytes)", len(body))
        raise BadGateway("微信服务返回异常", code="wechat_bad_response") from None
    if not isinstance(reply, dict):
        raise BadGateway("微信服务返回异常", code="wechat_bad_response")
    errcode = reply.get("errcode", 0)
    if errcode not in (0, None):
        logger.warning("code2Session refused: errcode=%r", errcode)
        raise _errcode_error(errcode)
    openid = reply.get("openid")
    if not isinstance(openid, str) or not 0 < len(openid) <= 64:
        logger.warning("code2Session answered without a usable openid")
        raise BadGateway("微信服务返回异常", code="wechat_bad_response")
    return openid


def _ticket_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=BIND_TICKET_SALT)


def make_bind_ticket(openid: str) -> str:
    """A signed ticket carrying the openid, valid WECHAT_BIND_TICKET_SECONDS; signed, not encrypted."""
    return _ticket_serializer().dumps({"openid": openid})


def openid_from_ticket(ticket: str) -> str:
    """The openid a bind ticket carries, or Unauthorized when it is expired, forged or damaged."""
    try:
        payload = _ticket_serializer().loads(ticket, max_age=current_app.config["WECHAT_BIND_TICKET_SECONDS"])
    except SignatureExpired:
        raise Unauthorized("绑定凭证已过期，请重新微信登录", code="bind_ticket_expired") from None
    except BadSignature:
        raise Unauthorized("绑定凭证无效", code="bind_ticket_invalid") from None
    openid = payload.get("openid") if isinstance(payload, dict) else None
    if not isinstance(openid, str) or not openid:
        raise Unauthorized("绑定凭证无效", code="bind_ticket_invalid")
    return openid


def login_with_wechat(code: str) -> IssuedLogin:
    """Log in with a wx.login code: a token when the openid is bound to an active account, else WechatUnbound.

    The token and the login's audit row are committed together, here.
    """
    openid = code_to_openid(code)
    user = db.session.scalar(select(User).where(User.wechat_openid == openid))
    if user is None:
        raise WechatUnbound(make_bind_ticket(openid), current_app.config["WECHAT_BIND_TICKET_SECONDS"])
    if not user.active:
        raise Unauthorized("账号已停用", code="account_inactive")
    record_audit(user, "login", user, method="wechat")
    issued = add_token(user)
    db.session.commit()
    return issued


def bind_wechat(ticket: str, username: str, password: str, *, ip: str | None = None) -> IssuedLogin:
    """Bind the ticket's openid to the account the password proves, and log it in.

    Refused with 409 when the openid belongs to someone else or the account already has another openid;
    binding the same pair again is a plain login. The password check commits on its own (so a refused
    bind still counts as a login attempt); the binding, its audit row and the token are one transaction.
    """
    openid = openid_from_ticket(ticket)
    user = authenticate(username, password, ip=ip)
    if user.wechat_openid != openid:
        _claim_openid(user, openid)
        record_audit(user, "wechat_bound", user)
    issued = add_token(user)
    db.session.commit()
    return issued


def _claim_openid(user: User, openid: str) -> None:
    if user.wechat_openid is not None:
        raise Conflict("该账号已绑定其他微信", code="wechat_account_already_bound")
    owner = db.session.scalar(select(User.id).where(User.wechat_openid == openid))
    if owner is not None:
        raise Conflict("该微信已绑定其他账号", code="wechat_already_bound")
    # Conditional and unique: of two binds racing for the account or the openid, exactly one wins.
    # A loser raises Conflict and leaves its transaction to be discarded with the request.
    try:
        claimed = db.session.execute(
            update(User).where(User.id == user.id, User.wechat_openid.is_(None)).values(wechat_openid=openid)
        ).rowcount
        db.session.flush()
    except IntegrityError:
        raise Conflict("该微信已绑定其他账号", code="wechat_already_bound") from None
    if claimed != 1:
        raise Conflict("该账号已绑定其他微信", code="wechat_account_already_bound")
    db.session.refresh(user)
