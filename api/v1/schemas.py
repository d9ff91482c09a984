"""Schemas shared by several resources of the API."""

from marshmallow import Schema, fields, validate

from models import User


class StationRefSchema(Schema):
    id = fields.Int()
    code = fields.Str()
    name = fields.Str()


class UserSchema(Schema):
    """A user as the phone sees it."""

    id = fields.Int()
    username = fields.Str()
    display_name = fields.Str()
    phone = fields.Str(allow_none=True)
    role = fields.Str()
    station = fields.Nested(StationRefSchema, allow_none=True)
    supervised_stations = fields.List(fields.Nested(StationRefSchema))


def dump_user(user: User) -> dict:
    """Serialise a user for the API."""
    return UserSchema().dump(user)


class ErrorBodySchema(Schema):
    code = fields.Str(required=True)
    message = fields.Str(required=True)
    fields_ = fields.Dict(data_key="fields", keys=fields.Str(), values=fields.List(fields.Str()))


class ErrorSchema(Schema):
    """The one error shape of the API."""

    error = fields.Nested(ErrorBodySchema, required=True)


class PageQuerySchema(Schema):
    """Cursor pagination parameters shared by list endpoints."""

    cursor = fields.Str(load_default=None)
    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=200))
