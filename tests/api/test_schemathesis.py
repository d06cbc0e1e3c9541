"""schemathesis against the live OpenAPI document: every operation, generated requests
with a token of a role allowed to call it. No 500, and every response (errors too)
matches the status codes, media types and schemas the document declares."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import update

from service.domain import people, zones
from service.models.api import ApiToken
from service.web.api.operations import OPERATIONS
from tests.broadcasts.seeding import seed_subscribers

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 10  # per operation and mode: the whole run stays under a minute


@pytest.fixture
def api_schema(app, runtime, secrets):  # type: ignore[no-untyped-def]
    """The document as served, with something to find: subscribers, a zone, a responder."""
    with runtime.database.session() as session:
        north = zones.add_zone(session, "north", ["19104"])
        people.register(session, runtime.vault, "+12155550131", "responder", name="Ana")
        north_id = north.id
    seed_subscribers(runtime.database, runtime.vault, 5)
    seed_subscribers(runtime.database, runtime.vault, 3, zone_id=north_id, language="es", start=50)
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


# schemathesis' own pytest loader (from_fixture) does not run on pytest 9 yet, so each
# operation is a test of its own here, driving schemathesis' strategies with hypothesis.
CASES = [(op.endpoint, mode) for op in OPERATIONS for mode in GenerationMode]


@pytest.mark.parametrize(("operation_id", "mode"), CASES, ids=[f"{o}-{m}" for o, m in CASES])
def test_api_matches_its_document(api_schema, secrets, runtime, operation_id, mode):  # type: ignore[no-untyped-def]
    operation = api_schema.find_operation_by_id(operation_id)
    role = operation.definition.raw["x-roles"][0]
    headers = {"Authorization": f"Bearer {secrets[role]}"}

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    def run(case):  # type: ignore[no-untyped-def]
        # A generated DELETE /tokens/{id} may revoke one of the test's own tokens: revive them.
        with runtime.database.session() as session:
            session.execute(update(ApiToken).values(revoked_at=None))
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()
