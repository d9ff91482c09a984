"""GET /openapi.json: the OpenAPI 3 document of API v1, built from the view docstrings and marshmallow schemas.

Every view of the api_v1 blueprint documents itself: a summary line, `---`, then YAML keyed by HTTP method
(see the views). This module walks the app's URL map, so a new endpoint appears here without editing it.
Examples live with the schemas, as `metadata={"example": …}` on their fields: a request body or response that names
a schema and gives no example of its own gets one composed from its fields (nested schemas included), so one
example of a visit serves every operation that answers with one. A docstring still gives its own where an
operation's example says something the schema's cannot (an error body, a sample of /meta's vocabularies).

Why not apispec-webframeworks' FlaskPlugin: it finds a view's URL by looking the function up in the app and takes
the first rule of that endpoint, assuming one rule per view, while the photo-variant view serves two URLs under
two endpoints; and its path conversion drops the converters, so `<int:photo_id>` would lose its integer schema.
What it would replace is the docstring loading below (one apispec call) and a regex; the rule walk, path
parameters, operation ids and composed examples are needed either way.
"""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime, timedelta

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_instance
from apispec.yaml_utils import load_operations_from_docstring
from flask import Flask, current_app, jsonify
from marshmallow import Schema, fields
from werkzeug.routing import Rule

from api.v1.blueprint import bp
from api.v1.schemas import ErrorSchema, TokenSchema
from models.types import INT_MAX

BLUEPRINT_NAME = "api_v1"
EXTENSION_KEY = "zoufang_openapi"
OPENAPI_VERSION = "3.0.3"
API_DESCRIPTION = """\
The field API of Zoufang (走访) for phone clients. JSON in and out; authenticate with
`Authorization: Bearer <token>` from /api/v1/auth/login or /api/v1/auth/wechat. Every error has the shape
`{"error": {"code", "message", "fields"}}`. Lists are `{"items": [...], "next_cursor": ...}`: pass
`next_cursor` back as `?cursor=` (a damaged or foreign cursor is 422 `invalid_cursor` on every list); `?limit=` is
1-200 (default 50). Times are ISO 8601 with an offset.
"""

_IGNORED_METHODS = frozenset({"head", "options"})
_FLASK_PATH_PARAMETER = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)>]*\))?:)?(?P<name>\w+)>")
_CONVERTER_SCHEMAS = {
    # The id columns are 32-bit: a larger id is a 404 before any query (api.guards.BoundedIntConverter).
    "int": {"type": "integer", "minimum": 0, "maximum": INT_MAX},
    "float": {"type": "number"},
    "uuid": {"type": "string", "format": "uuid"},
}

# name: (status, error code, example message, description)
ERROR_RESPONSES = {
    "BadRequest": (400, "invalid_json", "请求体须为 JSON 对象", "The body is not a JSON object, or is malformed"),
    "Unauthorized": (401, "invalid_token", "登录已失效，请重新登录", "Missing or expired token; bad credentials"),
    "Forbidden": (403, "forbidden", "无权执行此操作", "Authenticated, but not allowed to do this"),
    "NotFound": (404, "not_found", "记录不存在", "No such object, or it is outside the caller's scope"),
    "MethodNotAllowed": (405, "method_not_allowed", "The method is not allowed for the requested URL.",
                         "The path exists but not with this method"),
    "Conflict": (409, "conflict", "请求与当前状态冲突", "The request conflicts with the object's current state"),
    "PayloadTooLarge": (413, "payload_too_large", "文件过大", "The body is larger than the configured limit"),
    "UnsupportedMediaType": (415, "unsupported_media_type", "不支持的文件类型", "The content is of a refused type"),
    "ValidationError": (422, "validation_error", "请求内容有误",
                        "A field is missing, mistyped or out of range; a bad `?cursor=` has the code `invalid_cursor`"),
    "TooManyRequests": (429, "too_many_requests", "请求过于频繁，请稍后再试", "Throttled: wait Retry-After seconds"),
    "BadGateway": (502, "bad_gateway", "上游服务返回异常", "An upstream service (WeChat) answered with an error"),
    "ServiceUnavailable": (503, "service_unavailable", "服务暂时不可用，请稍后重试",
                           "An upstream service is unreachable or busy, or a feature is not configured"),
}
# Any request may be refused as unreadable (bad characters, a broken body) or meet the database down.
_EVERY_OPERATION_RESPONSES = {400: "BadRequest", 503: "ServiceUnavailable"}
# An example time written as "{now-40m}" is filled in when the document is served, so request examples stay
# inside the accepted visit window and validate against the live server.
_RELATIVE_TIME = re.compile(r"^\{now(?P<sign>[+-])(?P<amount>\d+)(?P<unit>[mhd])\}$")
_TIME_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
_ERROR_EXAMPLE_FIELDS = {"ValidationError": {"location.latitude": ["须在 -90 到 90 之间"]}}
_ERROR_HEADERS = {
    "MethodNotAllowed": {"Allow": {"description": "The methods the path accepts", "schema": {"type": "string"}}},
    "TooManyRequests": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
}


# The answer of every way to log in (password, WeChat, WeChat bind).
LOGGED_IN_RESPONSE = {
    "description": "Logged in: the token is shown once; send it as `Authorization: Bearer <token>`",
    "content": {"application/json": {"schema": TokenSchema}},
}
_NO_EXAMPLE = object()


def schema_example(schema: Schema) -> dict:
    """An example object of a schema, from its fields' `metadata={"example": …}`.

    A nested schema's example is composed the same way unless its field gives its own; fields with neither are left
    out, so a request example shows the fields a phone usually sends, not every optional one.
    """
    example = {}
    for name, field in schema.fields.items():
        value = _field_example(field)
        if value is not _NO_EXAMPLE:
            example[field.data_key or name] = value
    return example


def _field_example(field: fields.Field):
    if "example" in field.metadata:
        return field.metadata["example"]
    if isinstance(field, fields.Nested):
        nested = schema_example(field.schema)
        if not nested:
            return _NO_EXAMPLE
        return [nested] if field.many else nested
    if isinstance(field, fields.List):
        item = _field_example(field.inner)
        return _NO_EXAMPLE if item is _NO_EXAMPLE else [item]
    return _NO_EXAMPLE


def _with_schema_examples(target: dict) -> dict:
    """An operation or response whose JSON bodies naming a schema carry that schema's example, unless they give one."""
    bodies = [target, target.get("requestBody", {}), *target.get("responses", {}).values()]
    for body in bodies:
        for media_type, content in body.get("content", {}).items():
            schema = content.get("schema")
            if "json" not in media_type or "example" in content or "examples" in content:
                continue
            if isinstance(schema, str | Schema) or (isinstance(schema, type) and issubclass(schema, Schema)):
                example = schema_example(resolve_schema_instance(schema))
                if example:
                    content["example"] = example
    return target


def _error_response(name: str) -> dict:
    status, code, message, description = ERROR_RESPONSES[name]
    example = {"error": {"code": code, "message": message}}
    if name in _ERROR_EXAMPLE_FIELDS:
        example["error"]["fields"] = _ERROR_EXAMPLE_FIELDS[name]
    response = {
        "description": f"{status}: {description}",
        "content": {"application/json": {"schema": ErrorSchema, "example": example}},
    }
    if name in _ERROR_HEADERS:
        response["headers"] = _ERROR_HEADERS[name]
    return response


def openapi_path(rule: Rule) -> tuple[str, list[dict]]:
    """The OpenAPI form of a Flask rule (`<int:visit_id>` → `{visit_id}`) and its path parameters."""
    parameters = []

    def convert(match: re.Match) -> str:
        schema = _CONVERTER_SCHEMAS.get(match["converter"] or "", {"type": "string"})
        parameters.append({"in": "path", "name": match["name"], "required": True, "schema": dict(schema)})
        return "{" + match["name"] + "}"

    return _FLASK_PATH_PARAMETER.sub(convert, rule.rule), parameters


def _with_path_parameters(operation: dict, path_parameters: list[dict]) -> dict:
    converted = {parameter["name"]: parameter["schema"] for parameter in path_parameters}
    declared = set()
    for parameter in operation.get("parameters", []):
        if isinstance(parameter, dict) and parameter.get("in") == "path":
            declared.add(parameter.get("name"))
            # The converter's bounds hold whatever the docstring says (an id beyond them is a 404).
            schema = parameter.setdefault("schema", {})
            for key, value in converted.get(parameter.get("name"), {}).items():
                schema.setdefault(key, value)
    missing = [parameter for parameter in path_parameters if parameter["name"] not in declared]
    if missing:
        operation["parameters"] = missing + list(operation.get("parameters", []))
    return operation


def api_rules(app: Flask) -> list[Rule]:
    """The URL rules of the API v1 blueprint, in path order."""
    return sorted(
        (rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith(f"{BLUEPRINT_NAME}.")),
        key=lambda rule: (rule.rule, rule.endpoint),
    )


def build_openapi_document(app: Flask) -> dict:
    """The OpenAPI document of every api_v1 rule, from its view's docstring; schemas via MarshmallowPlugin."""
    spec = APISpec(
        title="Zoufang API",
        version="1.0.0",
        openapi_version=OPENAPI_VERSION,
        plugins=[MarshmallowPlugin()],
        info={"description": API_DESCRIPTION},
    )
    spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "A token from /api/v1/auth/login"}
    )
    spec.components.schema("Error", schema=ErrorSchema)
    for name in ERROR_RESPONSES:
        spec.components.response(name, _error_response(name))
    spec.components.response("LoggedIn", _with_schema_examples(copy.deepcopy(LOGGED_IN_RESPONSE)))

    operation_ids: set[str] = set()
    for rule in api_rules(app):
        view = app.view_functions[rule.endpoint]
        methods = {method.lower() for method in rule.methods} - _IGNORED_METHODS
        documented = load_operations_from_docstring(view.__doc__ or "")
        operations = {method: documented[method] for method in sorted(methods) if method in documented}
        path, path_parameters = openapi_path(rule)
        endpoint = rule.endpoint.removeprefix(f"{BLUEPRINT_NAME}.")
        for method, operation in operations.items():
            _with_path_parameters(operation, path_parameters)
            _with_schema_examples(operation)
            responses = operation.setdefault("responses", {})
            for status, name in _EVERY_OPERATION_RESPONSES.items():
                if status not in responses and str(status) not in responses:
                    responses[status] = {"$ref": f"#/components/responses/{name}"}
            operation_id = endpoint if len(methods) == 1 else f"{endpoint}_{method}"
            if "operationId" not in operation and operation_id not in operation_ids:
                operation["operationId"] = operation_id
            operation_ids.add(operation.get("operationId", operation_id))
        if operations:
            spec.path(path=path, operations=operations)
    return spec.to_dict()


def with_relative_times(document: dict, now: datetime) -> dict:
    """A copy of the document whose "{now-40m}" example strings are times relative to `now` (ISO 8601, UTC)."""

    def resolve(value):
        if isinstance(value, dict):
            return {key: resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [resolve(item) for item in value]
        if isinstance(value, str) and (match := _RELATIVE_TIME.match(value)):
            delta = timedelta(**{_TIME_UNITS[match["unit"]]: int(match["amount"])})
            return (now + delta if match["sign"] == "+" else now - delta).replace(microsecond=0).isoformat()
        return value

    return resolve(copy.deepcopy(document))


@bp.get("/openapi.json")
def openapi_document():
    """The OpenAPI document of this API.
    ---
    get:
      tags: [meta]
      summary: This document (OpenAPI 3.0.3, public)
      responses:
        200:
          description: The OpenAPI document
          content:
            application/json:
              schema: {type: object}
              example: {openapi: 3.0.3, info: {title: Zoufang API, version: 1.0.0}, paths: {}}
    """
    document = current_app.extensions.get(EXTENSION_KEY)
    if document is None:
        # Built on first use, once the URL map is complete; two racing requests build the same document.
        document = current_app.extensions[EXTENSION_KEY] = build_openapi_document(current_app)
    return jsonify(with_relative_times(document, datetime.now(UTC)))
