"""The Twilio adapter: the official twilio-python client, with a timeout, always."""

from __future__ import annotations

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from urllib3.exceptions import NewConnectionError

from service.gateway.base import PERMANENT_CODES, SendError, SentText

REQUEST_TIMEOUT_SECONDS = 10
# Texts to one number that a look-up reads (Twilio lists the newest first).
LOOKUP_LIMIT = 20


class TwilioGateway:
    name = "twilio"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        from_number: str = "",
        messaging_service_sid: str = "",
        status_callback: str | None = None,
        api_base_url: str = "",
        timeout: float = REQUEST_TIMEOUT_SECONDS,
    ) -> None:
        # No default timeout in twilio-python: a hung connection would hang the worker.
        http_client = TwilioHttpClient(timeout=timeout, pool_connections=True)
        self.client = Client(account_sid, auth_token, http_client=http_client)
        if api_base_url:
            # Do not set region/edge with this: they rewrite the host.
            self.client.api.base_url = api_base_url
        self._sender = sender_options(from_number, messaging_service_sid)
        self._status_callback = status_callback

    def send(self, to: str, body: str, *, validity_period: int | None = None) -> str:
        options: dict[str, object] = dict(self._sender)
        if self._status_callback:
            options["status_callback"] = self._status_callback
        if validity_period:
            options["validity_period"] = validity_period
        try:
            message = self.client.messages.create(to=to, body=body, **options)
        except TwilioRestException as exc:
            raise _classify(exc) from None
        except TwilioException as exc:
            # RFC 9457 bodies raise TwilioServiceException, not a TwilioRestException.
            raise SendError(f"twilio: {exc}", retryable=True) from None
        except requests.exceptions.RequestException as exc:
            if _never_sent(exc):
                raise SendError("twilio: cannot connect", retryable=True) from None
            # The request may have gone out and been taken: never send it again blindly.
            raise SendError(
                f"twilio: no clear answer ({type(exc).__name__})", ambiguous=True
            ) from None
        return str(message.sid)

    def sent_to(self, to: str) -> list[SentText] | None:
        try:
            messages = self.client.messages.list(to=to, limit=LOOKUP_LIMIT)
        except (TwilioException, requests.exceptions.RequestException):
            return None
        return [SentText(str(m.sid), m.date_created) for m in messages if m.date_created]


def sender_options(from_number: str, messaging_service_sid: str) -> dict[str, object]:
    """Who a text is from: the Messaging Service when there is one, else the number."""
    if messaging_service_sid:
        return {"messaging_service_sid": messaging_service_sid}
    return {"from_": from_number}


def _never_sent(exc: requests.exceptions.RequestException) -> bool:
    """True when the request cannot have reached Twilio (refused, no route, connect timeout)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.exceptions.ConnectionError) and isinstance(
        reason, NewConnectionError
    )


def _classify(exc: TwilioRestException) -> SendError:
    code = int(exc.code) if exc.code else None
    status = int(exc.status or 0)
    text = f"twilio {status} {code}: {exc.msg}"
    if status == 429 or code == 20429:
        return SendError(text, code=code or 20429, retryable=True)
    if status >= 500:
        return SendError(text, code=code, retryable=True)
    if code in PERMANENT_CODES or 400 <= status < 500:
        return SendError(text, code=code, retryable=False)
    return SendError(text, code=code, retryable=True)
