"""The Twilio adapter for bulk sending: twilio-python's asyncio client, many texts in flight.

The threaded client spends most of a send in `requests` (about 2 ms of CPU per
text here), and threads share one interpreter lock, so a broadcast worker built
on it cannot go much faster than one plain loop. The asyncio client (aiohttp)
costs a fraction of that per text. Two things it does not do that we need:
apply a timeout (9.13 ignores the one it is given) and leave retries to us
(its max_retries re-POSTs on 5xx, which can send a text twice): so every call is
wrapped in a timeout, and max_retries is never set.

Build it inside the event loop that will use it (aiohttp binds its session to it).
"""

from __future__ import annotations

import asyncio
import base64
from typing import Protocol
from urllib.parse import urlencode

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from service.config import Config
from service.gateway.base import SendError, SmsGateway
from service.gateway.build import build_gateway, twilio_settings
from service.gateway.twilio import REQUEST_TIMEOUT_SECONDS, _classify

# Bodies of the broadcasts (one per language) and the fixed fields, encoded once each.
ENCODED_FIELDS_KEPT = 64
# What twilio-python's messages.create_async sends with the form.
CREATE_HEADERS = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}


class AsyncSmsGateway(Protocol):
    name: str

    async def send(self, to: str, body: str, *, validity_period: int | None = None) -> str: ...

    async def close(self) -> None: ...


class FormHttpClient(AsyncTwilioHttpClient):
    """twilio-python's aiohttp client, encoding the form and the credentials itself.

    The stock client builds an aiohttp FormData, a BasicAuth and a copy of the
    request for tests on every call: about a fifth of a bulk text's CPU here.
    The headers are the same on every send, so the session is opened with the
    first request's headers as its own and later requests with the same headers
    leave merging them to nobody. The request on the wire is the same (a
    urlencoded POST with basic auth and twilio-python's headers). Made for a
    gateway that only sends texts: a request with other headers would also carry
    the session's.
    """

    def __init__(self) -> None:
        super().__init__(pool_connections=False)
        self._authorizations: dict[tuple[str, str], str] = {}
        self._usual: dict[str, str] | None = None
        self._encoded: dict[tuple[str, object], str] = {}

    def _session(self, headers: dict[str, str]) -> aiohttp.ClientSession:
        if self.session is None:
            self._usual = headers
            # No connection cap of aiohttp's own (100): the sender bounds what is in flight.
            self.session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0), headers=headers
            )
        return self.session

    async def request(  # type: ignore[override]
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        headers = dict(headers or {})
        if auth is not None:
            if auth not in self._authorizations:
                token = base64.b64encode(":".join(auth).encode()).decode()
                self._authorizations[auth] = f"Basic {token}"
            headers["Authorization"] = self._authorizations[auth]
        body = None
        if data:
            body = self._form(data)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        session = self._session(headers)
        async with session.request(
            method.upper(),
            url,
            params=params,
            data=body,
            headers=None if headers == self._usual else headers,
            allow_redirects=allow_redirects,
        ) as response:
            return Response(response.status, await response.text(), response.headers)

    def _form(self, data: dict[str, object]) -> str:
        """The urlencoded form. A broadcast's requests differ only in the recipient, so
        the other fields are encoded once (a long body costs tens of microseconds a
        time); the recipient's number is never kept."""
        parts = []
        for key, value in data.items():
            if key == "To" or not isinstance(value, str | int):
                parts.append(urlencode({key: value}, doseq=True))
                continue
            part = self._encoded.get((key, value))
            if part is None:
                if len(self._encoded) >= ENCODED_FIELDS_KEPT:
                    self._encoded.clear()
                part = self._encoded[(key, value)] = urlencode({key: value})
            parts.append(part)
        return "&".join(parts)


class BulkClient(Client):
    """twilio-python's Client, with its request headers worked out once.

    The stock client asks the platform module for the OS, architecture and Python
    version to build the same User-Agent on every request: a few percent of a
    bulk text's CPU. The headers sent are the same.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._headers: dict[tuple[str, frozenset[tuple[str, str]]], dict[str, str]] = {}

    def get_headers(self, method: str, headers: dict[str, str] | None) -> dict[str, str]:
        key = (method, frozenset((headers or {}).items()))
        if key not in self._headers:
            self._headers[key] = super().get_headers(method, dict(headers or {}))
        return dict(self._headers[key])


class AsyncTwilioGateway:
    """Sends through twilio-python's REST layer (`Version.create_async`), not its typed
    `messages.create_async`: the same POST to the Messages resource, with the same
    auth, headers and error handling (TwilioRestException), but no MessageInstance
    built from each answer (its three dates parsed, some thirty fields copied) only
    for its sid, nor the typed call's form of some thirty optional fields. That was a
    quarter of this client's CPU per text. The form fields are Twilio's own names;
    tests/test_bulk_client.py checks the request against the typed call's."""

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
        self.client = BulkClient(account_sid, auth_token, http_client=FormHttpClient())
        if api_base_url:
            self.client.api.base_url = api_base_url
        self._api = self.client.api.v2010  # resolves twilio's lazy imports now
        self._uri = f"/Accounts/{account_sid}/Messages.json"
        self._timeout = timeout
        self._fields = sender_fields(from_number, messaging_service_sid)
        if status_callback:
            self._fields["StatusCallback"] = status_callback

    async def send(self, to: str, body: str, *, validity_period: int | None = None) -> str:
        data: dict[str, object] = {"To": to, **self._fields, "Body": body}
        if validity_period:
            data["ValidityPeriod"] = validity_period
        try:
            # asyncio.timeout, not wait_for: the request starts in this step of the loop,
            # not a step later, so a rate token is used the moment it is granted.
            async with asyncio.timeout(self._timeout):
                created = await self._api.create_async(
                    "POST", self._uri, data=data, headers=dict(CREATE_HEADERS)
                )
        except TwilioRestException as exc:
            raise _classify(exc) from None
        except TwilioException as exc:
            raise SendError(f"twilio: {exc}", retryable=True) from None
        except aiohttp.ClientConnectorError:
            raise SendError("twilio: cannot connect", retryable=True) from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            # The request may have gone out and been taken: never send it again blindly.
            raise SendError(
                f"twilio: no clear answer ({type(exc).__name__})", ambiguous=True
            ) from None
        sid = created.get("sid") if isinstance(created, dict) else None
        if not sid:
            # Taken (2xx), but with no id to match its status callbacks to.
            raise SendError("twilio: accepted without a message sid", ambiguous=True)
        return str(sid)

    async def close(self) -> None:
        session = getattr(self.client.http_client, "session", None)
        if session is not None:
            await session.close()


def sender_fields(from_number: str, messaging_service_sid: str) -> dict[str, object]:
    """Who a text is from, as form fields: the Messaging Service when there is one."""
    if messaging_service_sid:
        return {"MessagingServiceSid": messaging_service_sid}
    return {"From": from_number}


class InThread:
    """Any synchronous gateway (the console one) behind the async interface."""

    def __init__(self, gateway: SmsGateway) -> None:
        self.gateway = gateway
        self.name = gateway.name

    async def send(self, to: str, body: str, *, validity_period: int | None = None) -> str:
        return await asyncio.to_thread(self.gateway.send, to, body, validity_period=validity_period)

    async def close(self) -> None:
        return None


def build_async_gateway(config: Config) -> AsyncSmsGateway:
    """The bulk gateway the configuration asks for; call it inside the event loop."""
    if not config.uses_twilio:
        return InThread(build_gateway(config))
    return AsyncTwilioGateway(**twilio_settings(config))
