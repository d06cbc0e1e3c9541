"""API tokens: the secret is in the creation response only."""

from __future__ import annotations

from marshmallow import fields, validate

from schemas.api.base import ApiSchema, OutputSchema, identifier, page_of
from service.models.api import TOKEN_ROLES


class TokenInputSchema(ApiSchema):
    role = fields.String(required=True, validate=validate.OneOf(TOKEN_ROLES))
    name = fields.String(load_default="", validate=validate.Length(max=60))
    person_id = identifier(
        load_default=None,
        allow_none=True,
        metadata={"description": "the registered person the token acts for"},
    )


class TokenSchema(OutputSchema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True)
    prefix = fields.String(required=True, metadata={"description": "the token's first characters"})
    person_id = fields.Integer(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    revoked_at = fields.DateTime(required=True, allow_none=True)


class NewTokenSchema(TokenSchema):
    token = fields.String(required=True, metadata={"description": "shown this once; keep it"})


TokenPageSchema = page_of(TokenSchema, "TokenPage")
