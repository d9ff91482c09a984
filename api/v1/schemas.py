"""Schemas shared by several resources of the API."""

from flask import url_for
from marshmallow import fields

from api.schema import ApiSchema, Range
from models import User


class StationRefSchema(ApiSchema):
    id = fields.Int()
    code = fields.Str()
    name = fields.Str()


class UserSchema(ApiSchema):
    """A user as the phone sees it."""

    id = fields.Int()
    username = fields.Str()
    display_name = fields.Str()
    phone = fields.Str(allow_none=True)
    role = fields.Str()
    station = fields.Nested(StationRefSchema, allow_none=True)
    supervised_stations = fields.List(fields.Nested(StationRefSchema))


class TokenSchema(ApiSchema):
    """The answer of a login: a bearer token, when it expires, and who it is for."""

    token = fields.Str(required=True)
    expires_at = fields.DateTime(required=True)
    user = fields.Nested(UserSchema, required=True)


def dump_user(user: User) -> dict:
    """Serialise a user for the API."""
    return UserSchema().dump(user)


class ErrorBodySchema(ApiSchema):
    code = fields.Str(required=True)
    message = fields.Str(required=True)
    fields_ = fields.Dict(data_key="fields", keys=fields.Str(), values=fields.List(fields.Str()))


class ErrorSchema(ApiSchema):
    """The one error shape of the API."""

    error = fields.Nested(ErrorBodySchema, required=True)


class PageQuerySchema(ApiSchema):
    """Cursor pagination parameters shared by list endpoints."""

    cursor = fields.Str(load_default=None, metadata={
        "description": "next_cursor of the previous page, with the same filters and order; a damaged cursor, or "
                       "one made for another order, is refused with 422 and the error code `invalid_cursor`"})
    limit = fields.Int(load_default=50, validate=Range(min=1, max=200))


class PageSchema(ApiSchema):
    """One page of a keyset-paginated list; a subclass names its `items`."""

    next_cursor = fields.Str(allow_none=True, metadata={
        "description": "Pass back as `?cursor=` for the next page; null on the last page"})


class NamedRefSchema(ApiSchema):
    """A reference to a record by id, with its name for display (a person, a station, a service point)."""

    id = fields.Int()
    name = fields.Str()


class GpsSchema(ApiSchema):
    lat = fields.Float()
    lon = fields.Float()


class PhotoSchema(ApiSchema):
    """A photo as the phone sees it: facts read from it and the URLs of its served copies (never the original)."""

    id = fields.Int()
    sha256 = fields.Str()
    mime_type = fields.Str()
    width = fields.Int()
    height = fields.Int()
    bytes = fields.Int()
    taken_at = fields.DateTime(allow_none=True)
    gps = fields.Nested(GpsSchema, allow_none=True)
    camera_make = fields.Str(allow_none=True)
    camera_model = fields.Str(allow_none=True)
    visit_id = fields.Int(allow_none=True)
    url = fields.Function(lambda photo: url_for("api_v1.get_photo", photo_id=photo.id))
    thumb_url = fields.Function(lambda photo: url_for("api_v1.get_photo_thumb", photo_id=photo.id))
