"""Schemas shared by several resources of the API."""

from flask import url_for
from marshmallow import fields

from api.schema import ApiSchema, Range
from models import User


class StationRefSchema(ApiSchema):
    id = fields.Int(metadata={"example": 3})
    code = fields.Str(metadata={"example": "440902001"})
    name = fields.Str(metadata={"example": "石鼓镇社工站"})


class UserSchema(ApiSchema):
    """A user as the phone sees it."""

    id = fields.Int(metadata={"example": 5})
    username = fields.Str(metadata={"example": "liming"})
    display_name = fields.Str(metadata={"example": "李敏"})
    phone = fields.Str(allow_none=True, metadata={"example": "13800000000"})
    role = fields.Str(metadata={"example": "worker"})
    station = fields.Nested(StationRefSchema, allow_none=True)
    supervised_stations = fields.List(fields.Nested(StationRefSchema), metadata={
        "description": "A supervisor's stations; empty for a worker", "example": []})


class TokenSchema(ApiSchema):
    """The answer of a login: a bearer token, when it expires, and who it is for."""

    token = fields.Str(required=True, metadata={"example": "7Jx0c1bGQm0n3n6X-4iV0b0HcS9m2vT1sWJkq1PzQxk"})
    expires_at = fields.DateTime(required=True, metadata={"example": "2025-06-30T08:00:00+00:00"})
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
        "description": "Pass back as `?cursor=` for the next page; null on the last page",
        "example": "eyJvcmRlciI6Im5ld2VzdF9maXJzdCIsImtleSI6WyIyMDI0LTA1LTA2VDAxOjU2OjAyKzAwOjAwIiw3XX0"})


class NamedRefSchema(ApiSchema):
    """A reference to a record by id, with its name for display (a person, a station, a service point)."""

    id = fields.Int(metadata={"example": 12})
    name = fields.Str(metadata={"example": "陈桂兰"})


class GpsSchema(ApiSchema):
    lat = fields.Float(metadata={"example": 21.6653})
    lon = fields.Float(metadata={"example": 110.9281})


class PhotoSchema(ApiSchema):
    """A photo as the phone sees it: facts read from it and the URLs of its served copies (never the original)."""

    id = fields.Int(metadata={"example": 17})
    sha256 = fields.Str(metadata={"example": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"})
    mime_type = fields.Str(metadata={"example": "image/jpeg"})
    width = fields.Int(metadata={"example": 4032})
    height = fields.Int(metadata={"example": 3024})
    bytes = fields.Int(metadata={"example": 2913134})
    taken_at = fields.DateTime(allow_none=True, metadata={"example": "2024-05-06T09:41:12+08:00"})
    gps = fields.Nested(GpsSchema, allow_none=True)
    camera_make = fields.Str(allow_none=True, metadata={"example": "HUAWEI"})
    camera_model = fields.Str(allow_none=True, metadata={"example": "ELS-AN00"})
    visit_id = fields.Int(allow_none=True, metadata={"example": None})
    url = fields.Function(lambda photo: url_for("api_v1.get_photo", photo_id=photo.id),
                          metadata={"type": "string", "example": "/api/v1/photos/17"})
    thumb_url = fields.Function(lambda photo: url_for("api_v1.get_photo_thumb", photo_id=photo.id),
                                metadata={"type": "string", "example": "/api/v1/photos/17/thumb"})
