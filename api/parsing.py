"""Reading request bodies and query strings through marshmallow schemas."""

from typing import Any

from flask import request
from marshmallow import Schema, ValidationError

from api.guards import first_unstorable
from services.errors import ServiceError


def load_json(schema: Schema) -> Any:
    """Parse the JSON body with a schema (a dict, or the typed input its post_load builds); a non-object is a 400.

    A value the database could not store (a NUL byte or lone surrogate in a string, an integer beyond
    the columns' range) is a 422 on its field before the schema or any query sees it.
    """
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise ServiceError("请求体须为 JSON 对象", code="invalid_json")
    unstorable = first_unstorable(payload)
    if unstorable is not None:
        field, reason = unstorable
        raise ValidationError({field: [reason]})
    return schema.load(payload)


def load_query(schema: Schema) -> dict:
    """Parse the query string with a schema (unknown parameters are ignored by the schema)."""
    return schema.load(request.args.to_dict())


def load_files(schema: Schema) -> dict:
    """Parse the file parts of a multipart body with a schema; a part sent twice reaches it as a list."""
    files = {name: parts[0] if len(parts) == 1 else parts for name, parts in request.files.lists()}
    return schema.load(files)
