"""The audit log: who did what, when, to how many people."""

from __future__ import annotations

from marshmallow import fields, validate

from schemas.api.base import OutputSchema, PageQuerySchema, page_of


class AuditQuerySchema(PageQuerySchema):
    action = fields.String(
        validate=validate.Length(min=1, max=40),
        metadata={"description": "only this action, e.g. broadcast.confirm"},
    )


class AuditEntrySchema(OutputSchema):
    id = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    via = fields.String(required=True, metadata={"description": "sms, api or cli"})
    actor_kind = fields.String(required=True)
    actor_id = fields.Integer(required=True, allow_none=True)
    actor_name = fields.String(required=True)
    actor_role = fields.String(required=True)
    action = fields.String(required=True)
    target = fields.String(required=True)
    recipients = fields.Integer(required=True, allow_none=True)
    detail = fields.String(required=True)


AuditPageSchema = page_of(AuditEntrySchema, "AuditPage")
