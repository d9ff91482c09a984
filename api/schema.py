"""The base of every API schema and the validators they use, so that marshmallow's field errors reach the phone
in Chinese, like every other message of the API.

marshmallow words its errors in English in three places: the schema (`Schema.error_messages`: unknown field,
wrong type), each field class (`default_error_messages`: missing, null, not an integer, naive time, …) and the
validators (`Length`, `Range`, …). `ApiSchema` words the first two through marshmallow's own hooks: its
`error_messages`, and `on_bind_field`, which gives each field (and the fields inside a List or Dict) the Chinese
message of its class wherever it still has marshmallow's English default — a message a field sets itself
(`error_messages={"required": …}`) is kept. The validators below are marshmallow's, with Chinese messages.
Nothing of marshmallow's is patched: schemas outside the API (and marshmallow itself) keep their English.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

SCHEMA_MESSAGES = {
    "type": "须为 JSON 对象",
    "unknown": "未知字段",
}

# Field class → its Chinese messages; a field gets those of every class it derives from (nearest wins).
FIELD_MESSAGES: dict[type[fields.Field], dict[str, str]] = {
    fields.Field: {
        "required": "缺少必填字段",
        "null": "不能为 null",
        "validator_failed": "取值无效",
    },
    fields.String: {
        "invalid": "须为字符串",
        "invalid_utf8": "须为有效的 UTF-8 字符串",
    },
    fields.Number: {
        "invalid": "须为数字",
        "too_large": "数值过大",
    },
    fields.Integer: {
        "invalid": "须为整数",
    },
    fields.Float: {
        "special": "不能为 NaN 或无穷大",
    },
    fields.Boolean: {
        "invalid": "须为布尔值（true 或 false）",
    },
    fields.DateTime: {
        "invalid": "须为 ISO 8601 格式的日期时间，如 2026-12-03T09:30:00+08:00",
        "invalid_awareness": "时区不符合要求",
        "format": "无法写成日期时间",
    },
    fields.AwareDateTime: {
        "invalid_awareness": "须带时区偏移（如 +08:00 或 Z）",
    },
    fields.Date: {
        "invalid": "须为 ISO 8601 格式的日期，如 2026-12-03",
        "invalid_awareness": "时区不符合要求",
        "format": "无法写成日期",
    },
    fields.UUID: {
        "invalid_uuid": "须为 UUID，如 5b0e2c1e-8f8a-4b43-9a53-2f4f3d1f7c10",
    },
    fields.List: {
        "invalid": "须为数组",
    },
    fields.Tuple: {
        "invalid": "须为数组",
    },
    fields.Mapping: {
        "invalid": "须为 JSON 对象",
    },
    fields.Nested: {
        "type": "须为 JSON 对象",
    },
}


def _merged_by_class(field_class: type[fields.Field], table) -> dict[str, str]:
    """The messages a field class gets from its ancestors, as Field.__init__ merges default_error_messages."""
    merged: dict[str, str] = {}
    for ancestor in reversed(field_class.__mro__):
        merged.update(table(ancestor))
    return merged


def _inner_fields(field: fields.Field) -> list[fields.Field]:
    """The fields a container field validates its items with (already copied for this schema when bound)."""
    if isinstance(field, fields.List):
        return [field.inner]
    if isinstance(field, fields.Tuple):
        return list(field.tuple_fields)
    if isinstance(field, fields.Mapping):
        return [inner for inner in (field.key_field, field.value_field) if inner is not None]
    return []


def localize_field(field: fields.Field) -> None:
    """Give a bound field, and the fields inside it, the Chinese messages in place of marshmallow's defaults."""
    english = _merged_by_class(type(field), lambda cls: cls.__dict__.get("default_error_messages", {}))
    chinese = _merged_by_class(type(field), lambda cls: FIELD_MESSAGES.get(cls, {}))
    for key, message in chinese.items():
        if key in field.error_messages and field.error_messages[key] == english.get(key):
            field.error_messages[key] = message
    for inner in _inner_fields(field):
        localize_field(inner)


class ApiSchema(Schema):
    """Base of the API's schemas: marshmallow's errors in Chinese; the error shape and codes are api.errors'."""

    error_messages = SCHEMA_MESSAGES

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        """marshmallow's hook for each field bound to a schema instance (its own copy of the declared field)."""
        super().on_bind_field(field_name, field_obj)
        localize_field(field_obj)


class Length(validate.Length):
    """marshmallow's Length, in Chinese (a string's length counts characters)."""

    message_min = "长度至少为 {min}"
    message_max = "长度不能超过 {max}"
    message_all = "长度须在 {min} 到 {max} 之间"
    message_equal = "长度须为 {equal}"


class Range(validate.Range):
    """marshmallow's Range, in Chinese."""

    message_min = "须{min_op} {{min}}"
    message_max = "须{max_op} {{max}}"
    message_all = "须{min_op} {{min}}，且{max_op} {{max}}"
    message_gte = "大于或等于"
    message_gt = "大于"
    message_lte = "小于或等于"
    message_lt = "小于"

