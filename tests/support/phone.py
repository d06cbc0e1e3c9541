"""Simulated phones and signed Twilio requests for tests."""

from __future__ import annotations

import itertools
import uuid
import xml.etree.ElementTree as ElementTree
from typing import Any

from twilio.request_validator import RequestValidator

WEBHOOK_TOKEN = "development-token"  # what the app checks when no Twilio account is set
_counter = itertools.count(1)


def new_sid(prefix: str = "SM") -> str:
    return prefix + uuid.uuid4().hex


def sign(url: str, form: dict[str, Any], token: str = WEBHOOK_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, form)


def replies(twiml: bytes) -> list[str]:
    return [m.text or "" for m in ElementTree.fromstring(twiml).iter("Message")]


class Phone:
    """One phone number texting the app: ``Phone(client, "+12155550100").text("JOIN")``."""

    def __init__(
        self,
        client: Any,
        number: str,
        base_url: str = "https://rallyline.example.org",
        token: str = WEBHOOK_TOKEN,
    ) -> None:
        self.client = client
        self.number = number
        self.base_url = base_url
        self.token = token

    def post(self, body: str, sid: str | None = None, **extra: str) -> Any:
        form = {
            "MessageSid": sid or new_sid(),
            "AccountSid": "AC" + "0" * 32,
            "From": self.number,
            "To": "+15005550006",
            "Body": body,
            "NumMedia": "0",
            "SmsStatus": "received",
            **extra,
        }
        url = f"{self.base_url}/twilio/sms"
        return self.client.post(
            "/twilio/sms", data=form, headers={"X-Twilio-Signature": sign(url, form, self.token)}
        )

    def text(self, body: str, sid: str | None = None) -> str | None:
        """Send a text; return the reply (None when the app stays silent)."""
        response = self.post(body, sid)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.content_type.startswith("text/xml")
        found = replies(response.data)
        assert len(found) <= 1, found
        return found[0] if found else None
