"""People: organizers, dispatchers, responders and admins; roles, tiers, on call."""

from __future__ import annotations

from marshmallow import fields, validate

from schemas.api.base import ApiSchema, OutputSchema, PageQuerySchema, page_of
from schemas.base import PhoneNumber
from service.models.people import ROLES


class PersonInputSchema(ApiSchema):
    phone = PhoneNumber(required=True, validate=validate.Length(max=40))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    name = fields.String(load_default="", validate=validate.Length(max=60))
    tier = fields.Integer(load_default=1, validate=validate.Range(min=1, max=9))


class PersonUpdateSchema(ApiSchema):
    role = fields.String(validate=validate.OneOf(ROLES))
    name = fields.String(validate=validate.Length(max=60))
    tier = fields.Integer(validate=validate.Range(min=1, max=9))
    on_call = fields.Boolean()
    zone = fields.String(
        allow_none=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "the zone they are paged for (name or ZIP); null for all"},
    )


class PeopleQuerySchema(PageQuerySchema):
    role = fields.String(validate=validate.OneOf(ROLES))
    on_call = fields.Boolean()


class PersonSchema(OutputSchema):
    """No phone number: people are told apart by name and id."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True)
    tier = fields.Integer(required=True)
    on_call = fields.Boolean(required=True)
    zone = fields.String(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)


PersonPageSchema = page_of(PersonSchema, "PersonPage")
