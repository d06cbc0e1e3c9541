"""Meetings (MEET notices) and their RSVP counts."""

from __future__ import annotations

from typing import Any

from schemas.api.base import PageQuerySchema
from schemas.api.meetings import MeetingPageSchema, MeetingSchema
from service.domain import listings
from service.errors import NotFound
from service.web.api.operations import EVERYONE, Call, operation


@operation(
    "/meetings",
    "GET",
    roles=EVERYONE,
    tag="meetings",
    query=PageQuerySchema,
    response=MeetingPageSchema,
)
def list_meetings(call: Call, query: dict[str, Any]) -> Any:
    """Meeting notices, newest first, with how many RSVP'd."""
    return listings.broadcasts(
        call.session, call.runtime.vault, query.get("cursor"), query["limit"], kind="meet"
    )


@operation(
    "/meetings/<int:meeting_id>", "GET", roles=EVERYONE, tag="meetings", response=MeetingSchema
)
def get_meeting(call: Call, meeting_id: int) -> Any:
    """One meeting notice and its RSVP count."""
    view = listings.broadcast(call.session, call.runtime.vault, meeting_id)
    if view.kind != "meet":
        raise NotFound(f"no meeting #{meeting_id}")
    return view
