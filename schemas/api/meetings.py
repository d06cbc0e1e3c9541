"""Meetings: MEET notices and how many RSVP'd."""

from __future__ import annotations

from marshmallow import fields

from schemas.api.base import OutputSchema, page_of


class MeetingSchema(OutputSchema):
    id = fields.Integer(required=True)
    state = fields.String(required=True)
    body = fields.String(required=True)
    recipients = fields.Integer(required=True)
    rsvps = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    send_at = fields.DateTime(required=True, allow_none=True)


MeetingPageSchema = page_of(MeetingSchema, "MeetingPage")
