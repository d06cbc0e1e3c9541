"""The naive baseline's job for bench/fanout.py: one RQ job per text, a new client each."""

from __future__ import annotations

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

FROM = "+15005550006"
BODY = "Camp Hope: March at noon from City Hall. Bring water."


def send(account_sid: str, token: str, url: str, to: str) -> str:
    client = Client(account_sid, token, http_client=TwilioHttpClient(timeout=10))
    client.api.base_url = url
    return str(client.messages.create(to=to, from_=FROM, body=BODY).sid)
