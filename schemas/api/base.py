"""What every API schema shares: unknown fields rejected, one error shape, keyset pages."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate

from service.domain.pagination import MAX_LIMIT

DEFAULT_LIMIT = 50
MAX_ID = 2**31 - 1  # ids are 32-bit integers in every database we run on


def identifier(**kwargs: Any) -> fields.Integer:
    """The id of a row (of a person, a token...)."""
    return fields.Integer(validate=validate.Range(min=1, max=MAX_ID), strict=True, **kwargs)


class ApiSchema(Schema):
    """A client that sends a field we do not know made a mistake: say so, never drop it."""

    class Meta:
        unknown = RAISE

    @pre_load
    def refuse_nul_characters(self, data: Any, **kwargs: Any) -> Any:
        """No text we store may hold a NUL (PostgreSQL refuses it; it is never meant)."""
        if isinstance(data, dict):
            bad = sorted(str(key) for key, value in data.items() if _has_nul(value))
            if bad:
                raise ValidationError({key: ["must not contain NUL characters"] for key in bad})
        return data


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


class OutputSchema(Schema):
    """A response body. Every field is always present (``null`` when empty)."""


class ProblemSchema(OutputSchema):
    """RFC 9457 problem details, the one shape of every error."""

    type = fields.String(required=True, metadata={"description": "a URI naming the problem"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        metadata={"description": "per-field messages, as marshmallow gives them"},
    )


class PageQuerySchema(ApiSchema):
    cursor = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "next_cursor of the previous page"},
    )
    limit = fields.Integer(
        load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT)
    )


def page_of(item: type[Schema], name: str) -> type[OutputSchema]:
    """The page schema of a list: its items and the cursor of the next page (null at the end)."""
    attributes: dict[str, Any] = {
        "items": fields.List(fields.Nested(item), required=True),
        "next_cursor": fields.String(required=True, allow_none=True),
    }
    return type(f"{name}Schema", (OutputSchema,), attributes)


def text(max_length: int, **kwargs: Any) -> fields.String:
    """A non-blank string of at most ``max_length`` characters."""
    return fields.String(
        validate=[
            validate.Length(min=1, max=max_length),
            validate.Regexp(r"\S", error="must not be blank"),
        ],
        **kwargs,
    )
