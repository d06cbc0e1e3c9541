"""Twilio's webhooks: inbound SMS and status callbacks.

Each does four things in order: verify the signature, load the form with a
schema, call the domain, answer.
"""

from __future__ import annotations

from flask import Blueprint, Response, request
from marshmallow import ValidationError
from twilio.twiml.messaging_response import MessagingResponse

from schemas.base import first_error
from schemas.twilio import InboundSmsSchema, StatusCallbackSchema
from service.domain import delivery, inbound
from service.models import utcnow
from service.web.runtime import runtime
from service.web.signature import is_signed_by_twilio

twilio_hooks = Blueprint("twilio", __name__, url_prefix="/twilio")

_inbound_schema = InboundSmsSchema()
_status_schema = StatusCallbackSchema()


@twilio_hooks.before_request
def verify_signature() -> Response | None:
    config = runtime().config
    if not is_signed_by_twilio(request, config.webhook_token, config.public_base_url):
        return _plain("invalid or missing X-Twilio-Signature", 403)
    return None


@twilio_hooks.post("/sms")
def sms() -> Response:
    try:
        form = _inbound_schema.load(request.form)
    except ValidationError as exc:
        return _plain(first_error(exc.messages), 400)
    rt = runtime()
    outcome = inbound.receive(
        rt.database,
        rt.vault,
        rt.config,
        inbound.InboundText(form["MessageSid"], form["From"], form["Body"]),
    )
    rt.after_inbound(outcome)
    twiml = MessagingResponse()
    if outcome.reply:
        twiml.message(outcome.reply)
    return Response(str(twiml), content_type="text/xml; charset=utf-8")


@twilio_hooks.post("/status")
def status() -> Response:
    try:
        form = _status_schema.load(request.form)
    except ValidationError as exc:
        return _plain(first_error(exc.messages), 400)
    with runtime().database.session() as session:
        delivery.record(
            session, form["MessageSid"], form["MessageStatus"], form["ErrorCode"], utcnow()
        )
    return Response("", status=200)


def _plain(reason: str, status: int) -> Response:
    return Response(reason + "\n", status=status, content_type="text/plain")
