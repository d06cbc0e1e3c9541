"""Twilio request signatures, checked against the public URL Twilio called."""

from __future__ import annotations

import hmac
from functools import lru_cache

from flask import Request
from twilio.request_validator import RequestValidator


def is_signed_by_twilio(request: Request, auth_token: str, public_base_url: str) -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    # Behind a TLS-terminating proxy request.url is the internal URL: rebuild the one
    # Twilio signed from PUBLIC_BASE_URL.
    url = public_base_url + request.path
    if request.query_string:
        url += "?" + request.query_string.decode("latin-1")
    validator = _validator(auth_token)
    # The URL exactly as configured is what Twilio signs: one HMAC settles a genuine
    # request. Anything else gets the validator's full check, which also tries the URL
    # with and without its default port.
    expected = validator.compute_signature(url, request.form).encode()
    if hmac.compare_digest(expected, signature.encode("utf-8", "replace")):
        return True
    return validator.validate(url, request.form, signature)


@lru_cache(maxsize=4)
def _validator(auth_token: str) -> RequestValidator:
    return RequestValidator(auth_token)
