"""Campaign lists and the keywords that join them."""

from __future__ import annotations

from marshmallow import fields, validate

from schemas.api.base import ApiSchema, OutputSchema, page_of, text
from service.domain.keywords import LANGUAGES


class ListSchema(OutputSchema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    keywords = fields.List(fields.String(), required=True)
    members = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)


class KeywordSchema(OutputSchema):
    word = fields.String(required=True)
    list = fields.String(required=True)
    language = fields.String(required=True)


class KeywordInputSchema(ApiSchema):
    word = text(30, required=True)
    list = text(60, required=True, metadata={"description": "created if it does not exist"})
    language = fields.String(load_default="en", validate=validate.OneOf(LANGUAGES))


ListPageSchema = page_of(ListSchema, "ListPage")
KeywordPageSchema = page_of(KeywordSchema, "KeywordPage")
