"""What every schema shares."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields

from service.phones import InvalidPhoneNumber, normalize


class TwilioFormSchema(Schema):
    """Twilio adds fields without notice: ignore unknown ones, never reject them."""

    class Meta:
        unknown = EXCLUDE


class PhoneNumber(fields.String):
    """A phone number, loaded as E.164."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return normalize(text)
        except InvalidPhoneNumber as exc:
            raise ValidationError(str(exc)) from None


def first_error(messages: dict[str, Any] | list[Any] | str) -> str:
    """One readable line out of marshmallow's nested error messages."""
    if isinstance(messages, dict):
        key, value = next(iter(messages.items()))
        return f"{key}: {first_error(value)}"
    if isinstance(messages, list):
        return first_error(messages[0]) if messages else "invalid"
    return str(messages)
