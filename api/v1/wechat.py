"""POST /auth/wechat, POST /auth/wechat/bind: WeChat mini-program login."""

from flask import jsonify, request
from marshmallow import fields

from api.parsing import load_json
from api.schema import ApiSchema, Length
from api.v1.blueprint import bp
from api.v1.schemas import ErrorBodySchema, TokenSchema
from services.accounts.credentials import IssuedLogin
from services.accounts.wechat import WechatUnbound, bind_wechat, login_with_wechat


class WechatLoginSchema(ApiSchema):
    code = fields.Str(required=True, validate=Length(min=1, max=128),
                      metadata={"description": "The code from wx.login()",
                                "example": "081Kq4Ga1rVd3J0eSaGa1Kz5ym1Kq4Gx"})


class WechatBindSchema(ApiSchema):
    ticket = fields.Str(required=True, validate=Length(min=1, max=1024),
                        metadata={"description": "bind_ticket from the 403 wechat_unbound answer",
                                  "example": "eyJvcGVuaWQiOiJvVV9hYmMifQ.Zk1a2w.3kq0"})
    username = fields.Str(required=True, validate=Length(min=1, max=64), metadata={"example": "liming"})
    password = fields.Str(required=True, validate=Length(min=1, max=256), metadata={"example": "correct-horse-42"})


class WechatUnboundSchema(ApiSchema):
    """The 403 of an openid bound to no account: the error, and the ticket to bind it with a password."""

    error = fields.Nested(ErrorBodySchema, required=True)
    bind_ticket = fields.Str(required=True)
    bind_ticket_expires_in = fields.Int(required=True, metadata={"description": "Seconds"})


def _token_response(login: IssuedLogin):
    return jsonify(TokenSchema().dump({"token": login.raw_token, "expires_at": login.token.expires_at,
                                       "user": login.user}))


@bp.post("/auth/wechat")
def wechat_login():
    """Log in with a wx.login code.
    ---
    post:
      tags: [auth]
      summary: Exchange a wx.login code for a bearer token (code2Session)
      description: >
        An openid bound to an active account gets a token. An unbound one gets 403 `wechat_unbound` with a
        short-lived `bind_ticket` for POST /api/v1/auth/wechat/bind. WeChat's failures map to 401 (invalid
        code), 429 (rate limited), 502 (other WeChat errors or a garbled reply) and 503 (WeChat busy or
        unreachable, or WeChat login not configured).
      requestBody:
        required: true
        content:
          application/json:
            schema: WechatLoginSchema
      responses:
        200: {$ref: '#/components/responses/LoggedIn'}
        400: {$ref: '#/components/responses/BadRequest'}
        401: {$ref: '#/components/responses/Unauthorized'}
        403:
          description: The WeChat account is bound to no user yet (`wechat_unbound`)
          content:
            application/json:
              schema: WechatUnboundSchema
              example:
                error: {code: wechat_unbound, message: 该微信尚未绑定账号，请用账号密码登录一次以完成绑定}
                bind_ticket: eyJvcGVuaWQiOiJvVV9hYmMifQ.Zk1a2w.3kq0-kK9a1
                bind_ticket_expires_in: 600
        422: {$ref: '#/components/responses/ValidationError'}
        429: {$ref: '#/components/responses/TooManyRequests'}
        502: {$ref: '#/components/responses/BadGateway'}
        503: {$ref: '#/components/responses/ServiceUnavailable'}
    """
    payload = load_json(WechatLoginSchema())
    try:
        login = login_with_wechat(payload["code"])
    except WechatUnbound as unbound:
        body = {"error": {"code": unbound.code, "message": unbound.message},
                "bind_ticket": unbound.bind_ticket, "bind_ticket_expires_in": unbound.expires_in}
        return jsonify(WechatUnboundSchema().dump(body)), unbound.status
    return _token_response(login)


@bp.post("/auth/wechat/bind")
def wechat_bind():
    """Bind a WeChat account to a user and log in.
    ---
    post:
      tags: [auth]
      summary: Bind the WeChat account of a bind ticket to the user the password proves, and log in
      description: >
        Throttled like /auth/login. 401 for a wrong password or an expired or forged ticket; 409 when the
        WeChat account is bound to someone else (`wechat_already_bound`) or the user already has another
        one (`wechat_account_already_bound`).
      requestBody:
        required: true
        content:
          application/json:
            schema: WechatBindSchema
      responses:
        200: {$ref: '#/components/responses/LoggedIn'}
        400: {$ref: '#/components/responses/BadRequest'}
        401: {$ref: '#/components/responses/Unauthorized'}
        409: {$ref: '#/components/responses/Conflict'}
        422: {$ref: '#/components/responses/ValidationError'}
        429: {$ref: '#/components/responses/TooManyRequests'}
    """
    payload = load_json(WechatBindSchema())
    login = bind_wechat(payload["ticket"], payload["username"], payload["password"], ip=request.remote_addr)
    return _token_response(login)
