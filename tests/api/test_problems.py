"""One error shape everywhere: application/problem+json with type, title, status, detail."""

from __future__ import annotations

import json

import pytest

REQUIRED = {"type", "title", "status", "detail"}


def assert_problem(answer, status):  # type: ignore[no-untyped-def]
    assert answer.status_code == status
    assert answer.mimetype == "application/problem+json"
    body = answer.get_json(force=True)
    assert set(body) >= REQUIRED and body["status"] == status
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def test_missing_token(api):  # type: ignore[no-untyped-def]
    assert_problem(api(None).get("/zones"), 401)


def test_wrong_role(api):  # type: ignore[no-untyped-def]
    assert_problem(api("viewer").post("/broadcasts", json={"message": "hi"}), 403)


def test_validation_carries_marshmallow_field_errors(api):  # type: ignore[no-untyped-def]
    body = assert_problem(api("admin").post("/zones", json={"name": "", "colour": "red"}), 422)
    assert body["type"] == "urn:rallyline:problem:validation"
    assert body["errors"]["colour"] == ["Unknown field."]
    assert "name" in body["errors"]


def test_unknown_query_parameters_are_rejected(api):  # type: ignore[no-untyped-def]
    body = assert_problem(api("viewer").get("/zones", query_string={"sort": "name"}), 422)
    assert "sort" in body["errors"]
    assert_problem(api("viewer").get("/broadcasts/1", query_string={"x": "1"}), 422)


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        ("{not json", "application/json", 400),
        ("", "application/json", 400),
        ("name=north", "application/x-www-form-urlencoded", 415),
        ("[1, 2]", "application/json", 422),
        ('"north"', "application/json", 422),
    ],
)
def test_malformed_bodies(client, secrets, data, content_type, status):  # type: ignore[no-untyped-def]
    answer = client.post(
        "/api/v1/zones",
        data=data,
        content_type=content_type,
        headers={"Authorization": f"Bearer {secrets['admin']}"},
    )
    assert_problem(answer, status)


def test_unknown_paths_and_methods_under_the_api(client, api):  # type: ignore[no-untyped-def]
    assert_problem(api("admin").get("/nowhere"), 404)
    assert_problem(api("admin").get("/alerts/-3"), 404)
    body = assert_problem(api("admin").delete("/zones"), 405)
    assert body["title"] == "Method Not Allowed"
    # Outside the API the app's plain answers stay as they were.
    plain = client.get("/nowhere")
    assert plain.status_code == 404 and plain.mimetype == "text/plain"


def test_domain_errors(api, session, runtime):  # type: ignore[no-untyped-def]
    assert_problem(api("admin").patch("/people/42", json={"tier": 2}), 404)
    api("admin").post("/zones", json={"name": "north", "zips": ["19104"]})
    conflict = assert_problem(
        api("admin").post("/zones", json={"name": "south", "zips": ["19104"]}), 409
    )
    assert "already belongs to zone NORTH" in conflict["detail"]
    invalid = assert_problem(
        api("admin").post("/keywords", json={"word": "STOP", "list": "x"}), 422
    )
    assert "reserved" in invalid["detail"]


def test_the_database_down_is_a_503_problem(api, runtime, monkeypatch):  # type: ignore[no-untyped-def]
    from sqlalchemy.exc import OperationalError

    def down(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(runtime.database, "sessionmaker", down)
    answer = api("viewer").get("/zones")
    assert_problem(answer, 503)
    assert answer.headers["Retry-After"] == "5"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/keywords", {"word": "MAR\x00CH", "list": "x"}),
        ("/zones", {"name": "north", "zips": ["1910\x00"]}),
        ("/broadcasts", {"message": "hi", "translations": {"es": "ho\x00la"}}),
    ],
)
def test_nul_characters_are_refused_not_stored(api, path, body):  # type: ignore[no-untyped-def]
    role = "organizer" if path == "/broadcasts" else "admin"
    answer = assert_problem(api(role).post(path, json=body), 422)
    assert "NUL" in json.dumps(answer["errors"])
