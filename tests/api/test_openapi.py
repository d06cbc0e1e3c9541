"""The OpenAPI document: served, valid OpenAPI 3, generated from the marshmallow schemas."""

from __future__ import annotations

from openapi_spec_validator import validate

from service.web.api.operations import OPERATIONS


def test_the_document_is_valid_openapi_3(client):  # type: ignore[no-untyped-def]
    answer = client.get("/api/v1/openapi.json")  # public: no token needed
    assert answer.status_code == 200
    document = answer.get_json()
    assert document["openapi"].startswith("3.")
    validate(document)


def test_every_operation_is_documented_with_its_schemas(client):  # type: ignore[no-untyped-def]
    document = client.get("/api/v1/openapi.json").get_json()
    operations = {
        (method.upper(), path): spec
        for path, item in document["paths"].items()
        for method, spec in item.items()
    }
    assert len(operations) == len(OPERATIONS)
    schemas = document["components"]["schemas"]
    for op in OPERATIONS:
        spec = operations[(op.method, "/api/v1" + op.rule.replace("<int:", "{").replace(">", "}"))]
        assert spec["x-roles"] == list(op.roles) and spec["security"] == [{"bearer": []}]
        assert spec["responses"]["401"]["content"]["application/problem+json"]
        if op.body is not None:
            ref = spec["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            name = ref.rsplit("/", 1)[-1]
            # Generated from the marshmallow schema: same fields, unknown ones refused.
            assert set(schemas[name]["properties"]) == set(op.body().fields), op.rule
    assert set(schemas["BroadcastInput"]["properties"]) >= {
        "kind",
        "message",
        "translations",
        "zone",
        "urgent",
        "send_at",
    }
    assert set(schemas["Problem"]["required"]) == {"type", "title", "status", "detail"}
