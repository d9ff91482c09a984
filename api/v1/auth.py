"""POST /auth/login, POST /auth/logout."""

from flask import jsonify, request
from marshmallow import fields

from api.parsing import load_json
from api.schema import ApiSchema, Length
from api.v1.blueprint import bp
from api.v1.schemas import TokenSchema
from api.v1.security import current_token, token_required
from services.accounts.credentials import log_in, revoke_token


class LoginSchema(ApiSchema):
    username = fields.Str(required=True, validate=Length(min=1, max=64), metadata={"example": "liming"})
    password = fields.Str(required=True, validate=Length(min=1, max=256), metadata={"example": "correct-horse-42"})


@bp.post("/auth/login")
def login():
    """Exchange a username and password for a bearer token.
    ---
    post:
      tags: [auth]
      summary: Log in with a username and password
      description: >
        Throttled per username in the database: after LOGIN_MAX_FAILURES failures within the window even the
        right password gets 429 with Retry-After. The token is shown once; send it as `Authorization: Bearer`.
      requestBody:
        required: true
        content:
          application/json:
            schema: LoginSchema
      responses:
        200: {$ref: '#/components/responses/LoggedIn'}
        400: {$ref: '#/components/responses/BadRequest'}
        401: {$ref: '#/components/responses/Unauthorized'}
        422: {$ref: '#/components/responses/ValidationError'}
        429: {$ref: '#/components/responses/TooManyRequests'}
    """
    credentials = load_json(LoginSchema())
    issued = log_in(credentials["username"], credentials["password"], ip=request.remote_addr)
    return jsonify(TokenSchema().dump({"token": issued.raw_token, "expires_at": issued.token.expires_at,
                                       "user": issued.user}))


@bp.post("/auth/logout")
@token_required
def logout():
    """Revoke the token this request was made with.
    ---
    post:
      tags: [auth]
      summary: Log out (revoke this request's token; other tokens of the user stay valid)
      security: [{bearerAuth: []}]
      responses:
        204: {description: Revoked; no body}
        401: {$ref: '#/components/responses/Unauthorized'}
    """
    revoke_token(current_token())
    return "", 204
