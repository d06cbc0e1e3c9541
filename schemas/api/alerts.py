"""Alerts: open (page the on-call responders), list, timeline, acknowledge, close."""

from __future__ import annotations

from marshmallow import fields, validate

from schemas.api.base import ApiSchema, OutputSchema, PageQuerySchema, identifier, page_of, text
from service.models.alerts import ALERT_STATES


class AlertInputSchema(ApiSchema):
    message = text(1000, required=True, metadata={"description": "what ALERT would say"})
    zone = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "page the responders on call for this zone (name or ZIP)"},
    )


class AcknowledgeInputSchema(ApiSchema):
    person_id = identifier(
        load_default=None,
        allow_none=True,
        metadata={"description": "who takes it on; default: the token's person"},
    )


class CloseInputSchema(ApiSchema):
    """Nothing to say yet: an empty object (or no body)."""


class AlertQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(ALERT_STATES))


class AlertSchema(OutputSchema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"description": "alert, or report (unverified)"})
    status = fields.String(required=True)
    zone = fields.String(required=True, allow_none=True)
    message = fields.String(required=True)
    tier = fields.Integer(required=True)
    round = fields.Integer(required=True)
    opened_by = fields.String(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    next_escalation_at = fields.DateTime(required=True, allow_none=True)
    acked_at = fields.DateTime(required=True, allow_none=True)
    acked_by = fields.String(required=True, allow_none=True)
    closed_at = fields.DateTime(required=True, allow_none=True)


class AlertEventSchema(OutputSchema):
    id = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    kind = fields.String(required=True)
    step = fields.Integer(required=True, allow_none=True)
    person_id = fields.Integer(required=True, allow_none=True)
    detail = fields.String(required=True)


AlertPageSchema = page_of(AlertSchema, "AlertPage")
AlertEventPageSchema = page_of(AlertEventSchema, "AlertEventPage")
