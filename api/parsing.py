"""Reading request bodies and query strings through marshmallow schemas."""

from typing import Any

from flask import request
from marshmallow import Schema

from services.errors import ServiceError


def load_json(schema: Schema) -> Any:
    """Parse the JSON body with a schema (a dict, or the typed input its post_load builds); a non-object is a 400."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise ServiceError("请求体须为 JSON 对象", code="invalid_json")
    return schema.load(payload)


def load_query(schema: Schema) -> dict:
    """Parse the query string with a schema (unknown parameters are ignored by the schema)."""
    return schema.load(request.args.to_dict())
