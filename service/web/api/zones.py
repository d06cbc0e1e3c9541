"""Zones and their ZIP codes."""

from __future__ import annotations

from typing import Any

from schemas.api.base import PageQuerySchema
from schemas.api.zones import ZoneInputSchema, ZonePageSchema, ZoneSchema
from service.domain import listings, organizer_actions
from service.web.api.operations import ADMIN, EVERYONE, Call, operation


@operation(
    "/zones", "GET", roles=EVERYONE, tag="zones", query=PageQuerySchema, response=ZonePageSchema
)
def list_zones(call: Call, query: dict[str, Any]) -> Any:
    """Zones and the ZIP codes inside each."""
    return listings.zones(call.session, query.get("cursor"), query["limit"])


@operation(
    "/zones",
    "POST",
    roles=ADMIN,
    tag="zones",
    body=ZoneInputSchema,
    response=ZoneSchema,
    status=201,
    errors=(409,),
)
def add_zone(call: Call, body: dict[str, Any]) -> Any:
    """Create a zone, or add ZIP codes to one."""
    return organizer_actions.add_zone(
        call.session, call.actor, body["name"], body["zips"], call.now
    )
