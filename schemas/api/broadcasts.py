"""Broadcasts: create (a preview with count, segments and cost), confirm, abort, progress."""

from __future__ import annotations

from marshmallow import fields, validate

from schemas.api.base import ApiSchema, OutputSchema, PageQuerySchema, page_of, text
from service.domain.broadcasts.preview import KINDS, MAX_BODY_CHARS
from service.models.broadcasts import BROADCAST_STATES

OTHER_LANGUAGES = ("es",)


class BroadcastInputSchema(ApiSchema):
    kind = fields.String(
        load_default="bcast",
        validate=validate.OneOf(KINDS),
        metadata={"description": "bcast (as typed), move (standard move notice), meet (RSVP)"},
    )
    message = text(
        MAX_BODY_CHARS,
        required=True,
        metadata={"description": "what the organizer would text after BCAST, MOVE or MEET"},
    )
    translations = fields.Dict(
        keys=fields.String(validate=validate.OneOf(OTHER_LANGUAGES)),
        values=text(MAX_BODY_CHARS),
        load_default=dict,
        metadata={"description": "the message in other languages, by language code"},
    )
    zone = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "audience: a zone name or ZIP; null for every subscriber"},
    )
    urgent = fields.Boolean(
        load_default=False, metadata={"description": "send even in quiet hours"}
    )
    send_at = fields.AwareDateTime(
        load_default=None,
        allow_none=True,
        metadata={"description": "start no earlier than this (pushed past quiet hours)"},
    )


class BroadcastQuerySchema(PageQuerySchema):
    kind = fields.String(validate=validate.OneOf(KINDS))
    state = fields.String(validate=validate.OneOf(BROADCAST_STATES))


class BroadcastSchema(OutputSchema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    state = fields.String(required=True)
    zone = fields.String(required=True, allow_none=True)
    urgent = fields.Boolean(required=True)
    body = fields.String(required=True)
    translations = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    recipients = fields.Integer(required=True, metadata={"description": "the preview's count"})
    segments = fields.Integer(required=True)
    encoding = fields.String(required=True)
    cost = fields.Decimal(
        places=2,
        as_string=True,
        required=True,
        metadata={"type": "string", "description": "estimate in dollars, e.g. 1.25"},
    )
    requested_at = fields.DateTime(required=True, allow_none=True)
    send_at = fields.DateTime(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    confirmed_at = fields.DateTime(required=True, allow_none=True)
    aborted_at = fields.DateTime(required=True, allow_none=True)
    finished_at = fields.DateTime(required=True, allow_none=True)
    counts = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        required=True,
        metadata={"description": "texts by delivery status: queued, sent, delivered, failed..."},
    )
    rsvps = fields.Integer(required=True, allow_none=True, metadata={"description": "meetings"})


BroadcastPageSchema = page_of(BroadcastSchema, "BroadcastPage")
