"""Twilio's webhook forms: inbound SMS and message status callbacks."""

from __future__ import annotations

from marshmallow import fields, validate

from schemas.base import PhoneNumber, TwilioFormSchema

SID = validate.Regexp(r"^[A-Z]{2}[0-9a-fA-F]{32}$", error="is not a Twilio message SID")
MAX_BODY = 1600  # Twilio's own limit for one inbound message
STATUSES = (
    "accepted",
    "scheduled",
    "queued",
    "sending",
    "sent",
    "delivered",
    "read",
    "undelivered",
    "failed",
    "canceled",
    "receiving",
    "received",
)


class InboundSmsSchema(TwilioFormSchema):
    MessageSid = fields.String(required=True, validate=SID)
    From = PhoneNumber(required=True)
    To = fields.String(load_default="", validate=validate.Length(max=40))
    Body = fields.String(load_default="", validate=validate.Length(max=MAX_BODY))
    AccountSid = fields.String(load_default="", validate=validate.Length(max=64))


class StatusCallbackSchema(TwilioFormSchema):
    MessageSid = fields.String(required=True, validate=SID)
    MessageStatus = fields.String(required=True, validate=validate.OneOf(STATUSES))
    ErrorCode = fields.Integer(
        load_default=None, allow_none=True, strict=False, validate=validate.Range(min=0, max=99999)
    )
