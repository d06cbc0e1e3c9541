"""Twilio request signatures, checked against the public URL Twilio called."""

from __future__ import annotations

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
    return RequestValidator(auth_token).validate(url, request.form, signature)
