"""Subscribers: counts, and one subscriber looked up by number (never a list of numbers)."""

from __future__ import annotations

from marshmallow import fields, validate

from schemas.api.base import ApiSchema, OutputSchema
from schemas.base import PhoneNumber
from service.domain.subscribers_report import STATUSES


class CountsQuerySchema(ApiSchema):
    status = fields.String(
        load_default="active",
        validate=validate.OneOf([*STATUSES, "all"]),
        metadata={"description": "whose language, zone and list are counted ('all' for everyone)"},
    )


class ZoneCountSchema(OutputSchema):
    zone = fields.String(required=True, allow_none=True, metadata={"description": "null: none"})
    count = fields.Integer(required=True)


class ListCountSchema(OutputSchema):
    list = fields.String(required=True)
    count = fields.Integer(required=True)


class CountsSchema(OutputSchema):
    status = fields.String(required=True, allow_none=True)
    total = fields.Integer(required=True)
    by_status = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    by_language = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    by_zone = fields.List(fields.Nested(ZoneCountSchema), required=True)
    by_list = fields.List(fields.Nested(ListCountSchema), required=True)


class LookupInputSchema(ApiSchema):
    """The number goes in the body, not the URL, so it never lands in an access log."""

    phone = PhoneNumber(required=True, validate=validate.Length(max=40))


class SubscriberSchema(OutputSchema):
    id = fields.Integer(required=True)
    phone = fields.String(required=True, allow_none=True, metadata={"description": "E.164"})
    status = fields.String(required=True)
    language = fields.String(required=True)
    zone = fields.String(required=True, allow_none=True)
    lists = fields.List(fields.String(), required=True)
    created_at = fields.DateTime(required=True)
    status_changed_at = fields.DateTime(required=True)
