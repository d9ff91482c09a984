"""api/schema.py: marshmallow's field errors reach the phone in Chinese, on every endpoint that parses input,
while the error shape and codes stay the API contract's."""

import importlib
import io
import pkgutil

import pytest
from marshmallow import Schema, ValidationError, fields

import api.v1
from api.schema import ApiSchema, Length, Range
from tests.factories import auth_headers, make_worker

NAIVE = "2026-12-03T09:30:00"
AWARE = "2026-12-03T09:30:00+08:00"
VISIT_ERRORS_BODY = {
    "client_id": "not-a-uuid", "beneficiary_id": "12", "kind": None, "services": "policy_implementation",
    "domains": [7], "started_at": NAIVE, "ended_at": "tomorrow", "location": "here", "notes": 5,
    "photo_ids": [1.5], "findings": [], "needs": {}, "follow_up_needed": "maybe", "follow_up_due": "soon",
    "photo_consent": "perhaps", "coworker_ids": "3", "people_count": "2", "mock_location": [],
    "client_sent_at": 1,
}
NESTED_ERRORS_BODY = {
    "client_id": "5b0e2c1e-8f8a-4b43-9a53-2f4f3d1f7c10", "kind": "home_visit", "started_at": AWARE,
    "ended_at": AWARE, "location": {"latitude": "north", "longitude": "nan", "accuracy": "far"},
    "findings": {"health": "good", "housing": {"note": 1}, "income": None},
}

# (name, method, path, JSON body or query string, the fields whose marshmallow message must be Chinese)
CASES = [
    ("login: missing and unknown", "POST", "/api/v1/auth/login", {"username": "a", "remember": True},
     {"password", "remember"}),
    ("login: types and lengths", "POST", "/api/v1/auth/login", {"username": 5, "password": "x" * 257},
     {"username", "password"}),
    ("login: empty and null", "POST", "/api/v1/auth/login", {"username": "", "password": None},
     {"username", "password"}),
    ("wechat: too long", "POST", "/api/v1/auth/wechat", {"code": "c" * 129}, {"code"}),
    ("wechat: wrong type, unknown", "POST", "/api/v1/auth/wechat", {"code": [], "scope": "x"}, {"code", "scope"}),
    ("wechat bind: every field", "POST", "/api/v1/auth/wechat/bind",
     {"ticket": "", "username": {}, "password": None}, {"ticket", "username", "password"}),
    ("visit: missing", "POST", "/api/v1/visits", {}, {"client_id", "kind", "started_at", "ended_at"}),
    ("visit: every type wrong", "POST", "/api/v1/visits", VISIT_ERRORS_BODY,
     set(VISIT_ERRORS_BODY)),
    ("visit: nested location and findings", "POST", "/api/v1/visits", NESTED_ERRORS_BODY,
     {"location.latitude", "location.longitude", "location.accuracy", "location.coord_type",
      "findings.health.value", "findings.housing.value.value", "findings.housing.value.note",
      "findings.income.value"}),
    ("visit: infinite latitude", "POST", "/api/v1/visits",
     {**NESTED_ERRORS_BODY, "location": {"latitude": 1e400, "longitude": 1, "coord_type": "wgs84"}, "findings": {}},
     {"location.latitude"}),
    ("resubmit: reply too long, times naive", "PUT", "/api/v1/visits/1",
     {"kind": "home_visit", "started_at": NAIVE, "ended_at": NAIVE, "reply": "r" * 2001},
     {"started_at", "ended_at", "reply"}),
    ("resubmit: reply of the wrong type", "PUT", "/api/v1/visits/1",
     {"kind": "home_visit", "started_at": AWARE, "ended_at": AWARE, "reply": 5}, {"reply"}),
    ("visits list: limit below the range", "GET", "/api/v1/visits", "limit=0&updated_since=" + NAIVE,
     {"limit", "updated_since"}),
    ("visits list: limit not a number", "GET", "/api/v1/visits", "limit=many&updated_since=yesterday",
     {"limit", "updated_since"}),
    ("visits list: limit above the range", "GET", "/api/v1/visits", "limit=201", {"limit"}),
    ("beneficiaries: near not a point", "GET", "/api/v1/beneficiaries", "near=here&due=maybe&limit=x",
     {"near", "due", "limit"}),
    ("beneficiaries: near not numbers", "GET", "/api/v1/beneficiaries", "near=a,b", {"near"}),
    ("beneficiaries: latitude out of range", "GET", "/api/v1/beneficiaries", "near=91,110", {"near"}),
    ("beneficiaries: longitude out of range", "GET", "/api/v1/beneficiaries", "near=21,181", {"near"}),
    ("beneficiaries: search too long", "GET", "/api/v1/beneficiaries", "q=" + "张" * 65, {"q"}),
]


def _call(client, headers, method, path, payload):
    if method == "GET":
        return client.get(f"{path}?{payload}", headers=headers)
    return client.open(path, method=method, json=payload, headers=headers)


@pytest.mark.parametrize(("method", "path", "payload", "expected_fields"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_marshmallow_errors_are_chinese_in_the_error_shape(client, method, path, payload, expected_fields):
    headers = auth_headers(make_worker())
    response = _call(client, headers, method, path, payload)
    assert response.status_code == 422, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"] == "请求内容有误"
    # A nested error is flattened by api.errors: "location.latitude", "findings.health.value._schema".
    reported = {name for name in expected_fields
                if any(key == name or key.startswith(f"{name}.") for key in error["fields"])}
    assert reported == expected_fields
    english = {name: messages for name, messages in error["fields"].items()
               if any(message.isascii() for message in messages)}
    assert english == {}, "marshmallow's English survived"


def test_a_photo_upload_without_its_file_or_with_two_is_refused_in_chinese(client):
    headers = auth_headers(make_worker())
    missing = client.post("/api/v1/photos", data={"other": (io.BytesIO(b"x"), "a.jpg")}, headers=headers)
    twice = client.post("/api/v1/photos", data={"file": [(io.BytesIO(b"x"), "a.jpg"), (io.BytesIO(b"y"), "b.jpg")]},
                        headers=headers)
    for response in (missing, twice):
        assert response.status_code == 422
        assert response.get_json()["error"]["code"] == "validation_error"
        reported = response.get_json()["error"]["fields"]
        assert "file" in reported
        assert not any(message.isascii() for messages in reported.values() for message in messages)


def test_a_non_object_nested_body_is_refused_in_chinese(client):
    response = _call(client, auth_headers(make_worker()), "POST", "/api/v1/visits",
                     {**NESTED_ERRORS_BODY, "location": [1, 2], "findings": {"health": []}})
    fields_ = response.get_json()["error"]["fields"]
    assert fields_["location._schema"] == ["须为 JSON 对象"]
    assert fields_["findings.health.value._schema"] == ["须为 JSON 对象"]


def _api_schemas() -> list[type[Schema]]:
    modules = [importlib.import_module(f"api.v1.{info.name}") for info in pkgutil.iter_modules(api.v1.__path__)]
    found = {value for module in modules for value in vars(module).values()
             if isinstance(value, type) and issubclass(value, Schema) and value.__module__.startswith("api.")}
    return sorted(found, key=lambda schema: schema.__qualname__)


def _all_fields(field: fields.Field):
    yield field
    for inner in (getattr(field, "inner", None), getattr(field, "key_field", None),
                  getattr(field, "value_field", None), *getattr(field, "tuple_fields", ())):
        if inner is not None:
            yield from _all_fields(inner)


@pytest.mark.parametrize("schema_class", _api_schemas(), ids=lambda schema: schema.__qualname__)
def test_every_api_schema_words_every_field_error_and_validator_in_chinese(schema_class):
    assert issubclass(schema_class, ApiSchema)
    schema = schema_class()
    assert all(not message.isascii() for message in schema.error_messages.values())
    for name, declared in schema.fields.items():
        for field in _all_fields(declared):
            english = {key: message for key, message in field.error_messages.items() if message.isascii()}
            assert english == {}, f"{schema_class.__qualname__}.{name}"
            for validator in field.validators:
                assert isinstance(validator, Length | Range), f"{schema_class.__qualname__}.{name}: {validator!r}"


def test_a_fields_own_message_is_kept_and_plain_marshmallow_schemas_keep_english():
    class Own(ApiSchema):
        name = fields.Str(required=True, error_messages={"required": "请填写姓名"})
        age = fields.Int(required=True)

    class Plain(Schema):
        age = fields.Int(required=True)

    assert Own().validate({}) == {"name": ["请填写姓名"], "age": ["缺少必填字段"]}
    assert Plain().validate({}) == {"age": ["Missing data for required field."]}


@pytest.mark.parametrize(("validator", "value", "message"), [
    (Length(min=1, max=3), "", "长度须在 1 到 3 之间"),
    (Length(max=3), "abcd", "长度不能超过 3"),
    (Length(min=2), "a", "长度至少为 2"),
    (Length(equal=2), "a", "长度须为 2"),
    (Range(min=1, max=200), 0, "须大于或等于 1，且小于或等于 200"),
    (Range(min=0, min_inclusive=False), 0, "须大于 0"),
    (Range(max=5, max_inclusive=False), 5, "须小于 5"),
])
def test_the_validators_speak_chinese(validator, value, message):
    with pytest.raises(ValidationError) as refused:
        validator(value)
    assert refused.value.messages == [message]
