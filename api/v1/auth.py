"""POST /auth/login, POST /auth/logout."""

from flask import Blueprint, jsonify, request
from marshmallow import Schema, fields, validate

from api.parsing import load_json
from api.v1.schemas import UserSchema
from api.v1.security import current_token, token_required
from services.accounts import authenticate, issue_token, revoke_token


class LoginSchema(Schema):
    username = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    password = fields.Str(required=True, validate=validate.Length(min=1, max=256))


class TokenSchema(Schema):
    token = fields.Str(required=True)
    expires_at = fields.DateTime(required=True)
    user = fields.Nested(UserSchema, required=True)


def login():
    """Exchange a username and password for a bearer token."""
    credentials = load_json(LoginSchema())
    user = authenticate(credentials["username"], credentials["password"], ip=request.remote_addr)
    raw, token = issue_token(user)
    return jsonify(TokenSchema().dump({"token": raw, "expires_at": token.expires_at, "user": user}))


@token_required
def logout():
    """Revoke the token this request was made with."""
    revoke_token(current_token())
    return "", 204


def register(blueprint: Blueprint) -> None:
    blueprint.add_url_rule("/auth/login", view_func=login, methods=["POST"])
    blueprint.add_url_rule("/auth/logout", view_func=logout, methods=["POST"])

