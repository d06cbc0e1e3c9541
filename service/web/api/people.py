"""People: roles, tiers, on call (never their numbers)."""

from __future__ import annotations

from typing import Any

from schemas.api.people import (
    PeopleQuerySchema,
    PersonInputSchema,
    PersonPageSchema,
    PersonSchema,
    PersonUpdateSchema,
)
from service.domain import listings, organizer_actions
from service.web.api.operations import ADMIN, ROSTER_READERS, Call, operation


@operation(
    "/people",
    "GET",
    roles=ROSTER_READERS,
    tag="people",
    query=PeopleQuerySchema,
    response=PersonPageSchema,
)
def list_people(call: Call, query: dict[str, Any]) -> Any:
    """Registered people: role, tier, on call, zone."""
    return listings.people(
        call.session,
        query.get("cursor"),
        query["limit"],
        role=query.get("role"),
        on_call=query.get("on_call"),
    )


@operation(
    "/people",
    "POST",
    roles=ADMIN,
    tag="people",
    body=PersonInputSchema,
    response=PersonSchema,
    status=201,
)
def register_person(call: Call, body: dict[str, Any]) -> Any:
    """Register a number with a role (or update the role, name and tier of one)."""
    return organizer_actions.register_person(
        call.session,
        call.runtime.vault,
        call.actor,
        body["phone"],
        body["role"],
        body["name"],
        body["tier"],
        call.now,
    )


@operation(
    "/people/<int:person_id>",
    "PATCH",
    roles=ADMIN,
    tag="people",
    body=PersonUpdateSchema,
    response=PersonSchema,
)
def update_person(call: Call, person_id: int, body: dict[str, Any]) -> Any:
    """Change a person's role, name, tier, on-call state or zone."""
    return organizer_actions.update_person(call.session, call.actor, person_id, body, call.now)
