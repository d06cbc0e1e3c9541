"""The ceiling for bench/webhook.py: a Flask endpoint that only checks the Twilio
signature and answers static TwiML. Served by the same gunicorn settings as the app."""

from __future__ import annotations

import os

from flask import Flask, Response, request
from twilio.request_validator import RequestValidator

app = Flask(__name__)
_validator = RequestValidator(os.environ.get("BENCH_TOKEN", "development-token"))
_public = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>ok</Message></Response>'


@app.post("/twilio/sms")
def sms() -> Response:
    signature = request.headers.get("X-Twilio-Signature", "")
    if not _validator.validate(_public + request.path, request.form, signature):
        return Response("forbidden", status=403)
    return Response(_TWIML, content_type="text/xml; charset=utf-8")
