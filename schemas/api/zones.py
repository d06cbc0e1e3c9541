"""Zones and the ZIP codes inside them."""

from __future__ import annotations

from marshmallow import fields, validate

from schemas.api.base import ApiSchema, OutputSchema, page_of, text


class ZoneSchema(OutputSchema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    zips = fields.List(fields.String(), required=True)
    created_at = fields.DateTime(required=True)


class ZoneInputSchema(ApiSchema):
    name = text(40, required=True, metadata={"description": "created, or ZIPs added to it"})
    zips = fields.List(
        fields.String(validate=validate.Regexp(r"^\d{5}$", error="a ZIP is five digits")),
        load_default=list,
        validate=validate.Length(max=500),
    )


ZonePageSchema = page_of(ZoneSchema, "ZonePage")
