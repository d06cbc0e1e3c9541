"""The role matrix: every operation, with every role and with no token.

A role that may not call an operation gets 403 before anything is parsed or
changed; no token (or a bad or revoked one) gets 401. A role that may gets
past authorization (whatever the empty request then earns: 2xx, 404, 422...).
"""

from __future__ import annotations

import re

import pytest

from service.models.api import TOKEN_ROLES
from service.web.api.operations import OPERATIONS

CASES = [(op, role) for op in OPERATIONS for role in (*TOKEN_ROLES, None)]


def call(api, op, role, headers=None):  # type: ignore[no-untyped-def]
    path = re.sub(r"<int:\w+>", "1", op.rule)
    client = api(role)
    kwargs = {"headers": headers} if headers else {}
    if op.method == "GET":
        return client.get(path, **kwargs)
    if op.method == "DELETE":
        return client.delete(path, **kwargs)
    send = client.patch if op.method == "PATCH" else client.post
    return send(path, json={}, **kwargs)


@pytest.mark.parametrize(
    ("op", "role"), CASES, ids=[f"{op.method} {op.rule} as {role}" for op, role in CASES]
)
def test_role_matrix(api, op, role):  # type: ignore[no-untyped-def]
    answer = call(api, op, role)
    assert (
        answer.mimetype in ("application/json", "application/problem+json")
        or answer.status_code == 204
    )
    if role is None:
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    elif role in op.roles:
        assert answer.status_code not in (401, 403), answer.get_json()
    else:
        assert answer.status_code == 403, answer.get_json()
        assert role in answer.get_json()["detail"]


def holders(method: str, rule: str) -> set[str]:
    [op] = [op for op in OPERATIONS if (op.method, op.rule) == (method, rule)]
    return set(op.roles)


def test_each_power_belongs_to_its_role():  # type: ignore[no-untyped-def]
    assert holders("GET", "/subscribers/counts") == set(TOKEN_ROLES)  # everyone reads counts
    assert holders("POST", "/broadcasts") == {"organizer"}
    assert holders("POST", "/alerts/<int:alert_id>/acknowledge") == {"dispatcher"}
    for method, rule in [
        ("POST", "/subscribers/lookup"),
        ("POST", "/people"),
        ("PATCH", "/people/<int:person_id>"),
        ("GET", "/tokens"),
        ("POST", "/tokens"),
        ("DELETE", "/tokens/<int:token_id>"),
        ("POST", "/keywords"),
        ("GET", "/audit"),
    ]:
        assert holders(method, rule) == {"admin"}, rule
    assert not [op.rule for op in OPERATIONS if "viewer" in op.roles and op.method != "GET"]


@pytest.mark.parametrize(
    "header", ["Bearer rl_not-a-real-token", "Bearer ", "Basic dXNlcjpwYXNz", "rl_x"]
)
def test_bad_tokens_are_401(api, header):  # type: ignore[no-untyped-def]
    answer = api(None).get("/subscribers/counts", headers={"Authorization": header})
    assert answer.status_code == 401
    assert answer.mimetype == "application/problem+json"


def test_a_revoked_token_stops_working_at_once(api, runner, session):  # type: ignore[no-untyped-def]
    from service.models.api import ApiToken

    assert api("viewer").get("/subscribers/counts").status_code == 200
    viewer = session.query(ApiToken).filter_by(role="viewer").one()
    result = runner.invoke(args=["token", "revoke", str(viewer.id)])
    assert result.exit_code == 0, result.output
    assert api("viewer").get("/subscribers/counts").status_code == 401
    again = runner.invoke(args=["token", "revoke", str(viewer.id)])
    assert again.exit_code != 0 and "already revoked" in again.output


def test_token_create_prints_the_token_once_and_keeps_only_a_hash(client, runner, session):  # type: ignore[no-untyped-def]
    from service.models.api import ApiToken

    result = runner.invoke(args=["token", "create", "--role", "viewer", "--name", "dashboard"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[-1]
    assert secret.startswith("rl_")
    row = session.query(ApiToken).one()
    assert row.role == "viewer" and row.name == "dashboard"
    assert secret not in (row.token_hash, row.prefix) and row.token_hash != secret
    answer = client.get("/api/v1/subscribers/counts", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 200
    assert runner.invoke(args=["token", "create", "--role", "root"]).exit_code != 0


def test_token_create_for_a_person(runner, session, organizer_person):  # type: ignore[no-untyped-def]
    from service.models.api import ApiToken

    result = runner.invoke(
        args=["token", "create", "--role", "organizer", "--person", "+1 215 555 0111"]
    )
    assert result.exit_code == 0, result.output
    assert session.query(ApiToken).one().person_id == organizer_person.id
    unknown = runner.invoke(
        args=["token", "create", "--role", "organizer", "--person", "+12155550999"]
    )
    assert unknown.exit_code != 0 and "not a registered person" in unknown.output
