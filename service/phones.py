"""Phone numbers: E.164 normalisation (phonenumbers) and masking for logs."""

from __future__ import annotations

import phonenumbers

# Numbers written without a country code are read as US numbers: the program's
# one number is a US long code or short code.
DEFAULT_REGION = "US"


class InvalidPhoneNumber(ValueError):
    """Not a phone number we can text."""


def normalize(raw: str, region: str = DEFAULT_REGION) -> str:
    """Return the E.164 form of ``raw`` or raise InvalidPhoneNumber naming the problem."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidPhoneNumber("phone number is empty")
    if len(raw) > 40:
        raise InvalidPhoneNumber("phone number is too long")
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber(f"not a phone number: {mask(raw)}") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber(f"not a valid phone number: {mask(raw)}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def mask(number: str | None) -> str:
    """Keep only the last two digits: enough to tell two people apart in a log."""
    if not number:
        return "<none>"
    digits = [c for c in str(number) if c.isdigit()]
    return "***" + "".join(digits[-2:])
