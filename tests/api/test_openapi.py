"""GET /api/v1/openapi.json: a valid OpenAPI document covering every route of the API, with examples."""

import re

import pytest
from openapi_spec_validator import validate
from werkzeug.routing import Rule

from api.v1.openapi import ERROR_RESPONSES, EXTENSION_KEY, api_rules, openapi_path, schema_example
from api.v1.schemas import TokenSchema, UserSchema
from api.v1.visits import VisitCreateSchema, VisitResubmitSchema, VisitSchema

HTTP_METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture
def document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def operations(document):
    for path, item in document["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, item[method]


def test_the_document_is_valid_openapi(document):
    assert document["openapi"].startswith("3.")
    validate(document)


def test_every_route_of_the_api_is_documented_for_each_of_its_methods(app, document):
    missing = []
    for rule in api_rules(app):
        path, _ = openapi_path(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method.lower() not in document["paths"].get(path, {}):
                missing.append(f"{method} {rule.rule} ({rule.endpoint})")
    assert missing == [], "views without an OpenAPI docstring for these methods"


def resolve_response(document: dict, response: dict) -> dict:
    """A response object, following a `#/components/responses/...` reference."""
    reference = response.get("$ref")
    if reference is None:
        return response
    name = reference.removeprefix("#/components/responses/")
    return document["components"]["responses"][name]


def test_every_operation_has_responses_and_each_json_success_an_example(document):
    without_example = []
    for path, method, operation in operations(document):
        assert operation.get("summary"), f"{method} {path} has no summary"
        successes = {status: response for status, response in operation["responses"].items()
                     if str(status).startswith("2")}
        assert successes, f"{method} {path} documents no success response"
        for status, response in successes.items():
            response = resolve_response(document, response)
            for media_type, content in response.get("content", {}).items():
                if "json" in media_type and "example" not in content and "examples" not in content:
                    without_example.append(f"{method} {path} {status} {media_type}")
    assert without_example == []


def test_examples_are_composed_from_the_schemas_field_metadata(document):
    paths = document["paths"]
    me = paths["/api/v1/me"]["get"]["responses"]["200"]["content"]["application/json"]
    assert me["example"] == schema_example(UserSchema())
    assert me["example"]["station"] == {"id": 3, "code": "440902001", "name": "石鼓镇社工站"}
    stored = paths["/api/v1/visits"]["post"]["responses"]["201"]["content"]["application/json"]["example"]
    assert stored == schema_example(VisitSchema())
    assert stored["warnings"][0]["code"] == "poor_accuracy"  # a nested list composed from WarningSchema
    logged_in = document["components"]["responses"]["LoggedIn"]["content"]["application/json"]["example"]
    assert logged_in == schema_example(TokenSchema())
    assert document["components"]["schemas"]["User"]["properties"]["username"]["example"] == "liming"


def test_an_example_written_in_a_docstring_is_kept(document):
    unbound = document["paths"]["/api/v1/auth/wechat"]["post"]["responses"]["403"]["content"]["application/json"]
    assert unbound["example"]["error"]["code"] == "wechat_unbound"


@pytest.mark.parametrize(("path", "method", "schema"), [
    ("/api/v1/visits", "post", VisitCreateSchema),
    ("/api/v1/visits/{visit_id}", "put", VisitResubmitSchema),
])
def test_the_request_examples_are_bodies_the_schemas_accept(document, path, method, schema):
    example = document["paths"][path][method]["requestBody"]["content"]["application/json"]["example"]
    assert not re.search(r"\{now[+-]", str(example)), "relative times are filled in when served"
    schema().load(example)


def test_paths_with_parameters_declare_them_on_every_operation(document):
    for path, method, operation in operations(document):
        declared = {parameter["name"] for parameter in operation.get("parameters", []) if parameter["in"] == "path"}
        assert declared == set(re.findall(r"{(\w+)}", path)), f"{method} {path}"


def test_protected_operations_name_the_bearer_scheme_and_the_401(document):
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": "A token from /api/v1/auth/login"}
    for path, method, operation in operations(document):
        if operation.get("security"):
            assert operation["security"] == [{"bearerAuth": []}], f"{method} {path}"
            assert "401" in operation["responses"], f"{method} {path}"


def test_the_error_responses_show_the_error_shape(document):
    responses = document["components"]["responses"]
    assert set(responses) == set(ERROR_RESPONSES) | {"LoggedIn"}
    for name in ERROR_RESPONSES:
        response = responses[name]
        content = response["content"]["application/json"]
        assert content["schema"] == {"$ref": "#/components/schemas/Error"}
        assert set(content["example"]["error"]) >= {"code", "message"}, name
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    assert set(document["components"]["schemas"]["ErrorBody"]["properties"]) == {"code", "message", "fields"}


def test_schemas_come_from_the_marshmallow_schemas(document):
    beneficiary = document["components"]["schemas"]["BeneficiaryItem"]["properties"]
    assert "id_number_masked" in beneficiary and "id_number" not in beneficiary
    query = {parameter["name"] for parameter in document["paths"]["/api/v1/beneficiaries"]["get"]["parameters"]}
    assert query == {"q", "near", "due", "limit", "cursor"}


@pytest.mark.parametrize("path", ["/api/v1/visits", "/api/v1/beneficiaries"])
def test_every_keyset_list_documents_the_invalid_cursor_code(document, path):
    (cursor,) = [parameter for parameter in document["paths"][path]["get"]["parameters"]
                 if parameter["name"] == "cursor"]
    assert "invalid_cursor" in cursor["description"]
    assert "422" in document["paths"][path]["get"]["responses"]


def test_the_document_is_public_and_built_once_per_app(app, client):
    first = client.get("/api/v1/openapi.json")
    cached = app.extensions[EXTENSION_KEY]
    second = client.get("/api/v1/openapi.json")
    assert first.status_code == second.status_code == 200
    assert app.extensions[EXTENSION_KEY] is cached
    assert first.get_data() == second.get_data()


@pytest.mark.parametrize(
    ("flask_path", "openapi_form", "schema"),
    [
        ("/api/v1/visits/<int:visit_id>", "/api/v1/visits/{visit_id}",
         {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}),
        ("/api/v1/things/<name>", "/api/v1/things/{name}", {"type": "string"}),
        ("/api/v1/files/<path:key>/raw", "/api/v1/files/{key}/raw", {"type": "string"}),
        ("/api/v1/ids/<uuid:client_id>", "/api/v1/ids/{client_id}", {"type": "string", "format": "uuid"}),
    ],
)
def test_flask_paths_become_openapi_paths_with_parameters(flask_path, openapi_form, schema):
    path, parameters = openapi_path(Rule(flask_path))
    assert path == openapi_form
    assert len(parameters) == 1
    assert parameters[0]["in"] == "path" and parameters[0]["required"] is True
    assert parameters[0]["schema"] == schema
