"""A stand-in for Twilio's Messages API, for tests and benchmarks.

It speaks enough of ``/2010-04-01/Accounts/{AccountSid}/Messages.json`` that the real
twilio-python client works against it (create, fetch, list), answers errors in Twilio's
legacy error JSON (so twilio-python raises ``TwilioRestException`` with ``.status`` and
``.code``), and posts signed status callbacks (``sent`` then ``delivered`` /
``undelivered`` / ``failed``) to each message's StatusCallback URL.

Faults are set at runtime through ``POST /_fake/faults`` (see ``FAULT_DEFAULTS``); the
control API lives under ``/_fake/``. Run it with ``python -m tests.fake_twilio`` and
drive it with ``tests.fake_twilio.control.FakeTwilio``.

Differences from the real Twilio worth knowing:
- Sends with a MessagingServiceSid and no From answer status ``accepted`` (as Twilio
  does); sends with a From answer ``queued``.
- Missing To is 21604, missing From/MessagingServiceSid is 21603, missing Body is 21602,
  a Body over 1600 characters is 21617, and a To that is not E.164 is 21211 (Twilio
  itself is more forgiving about formats; switch that check off with
  ``validate_e164: false``).
- "Every Nth" counters count authenticated create requests since the faults were last
  set (or reset), starting at 1, so ``every_nth_429: 3`` fails requests 3, 6, 9, ...
  When several faults pick the same request, the first of 429, 500, the 400s and
  accept-then-500 wins.
- A client that times out does not cancel the request here (aiohttp does not cancel
  handlers on disconnect): the message is still recorded, as it would be at Twilio.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import math
import os
import re
import time
from collections.abc import Mapping
from email.utils import formatdate
from typing import Any
from urllib.parse import urlencode

from aiohttp import ClientSession, ClientTimeout, TCPConnector, web
from twilio.request_validator import RequestValidator

API_VERSION = "2010-04-01"
MESSAGES_PATH = "/2010-04-01/Accounts/{account_sid}/Messages.json"
MESSAGE_PATH = "/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json"
MORE_INFO = "https://www.twilio.com/docs/errors/{code}"
# The number a Messaging Service "picks" when a send names no From.
SERVICE_FROM = "+15005550006"

ERROR_MESSAGES: dict[int, str] = {
    20003: "Authenticate",
    20404: "The requested resource {path} was not found",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
    21211: "The 'To' number {to} is not a valid phone number.",
    21408: "Permission to send an SMS has not been enabled for the region indicated "
    "by the 'To' number: {to}.",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21606: "The 'From' phone number provided ({from_}) is not a valid message-capable "
    "Twilio phone number for this destination.",
    21608: "The number {to} is unverified. Trial accounts cannot send messages to "
    "unverified numbers.",
    21610: "Attempt to send to unsubscribed recipient",
    21612: "The 'To' phone number: {to}, is not currently reachable using the 'From' "
    "phone number: {from_} via SMS.",
    21614: "'To' number is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit.",
    30003: "Unreachable destination handset",
    30004: "Message blocked",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered",
    30008: "Unknown error",
    30034: "Message from an unregistered number",
}

FAULT_DEFAULTS: dict[str, Any] = {
    # Every Nth create answers 429 / 20429 (not recorded). 0 = off.
    "every_nth_429": 0,
    # Every Nth create answers 500 / 20500 (not recorded). 0 = off.
    "error_500_every_nth": 0,
    # Every Nth create is recorded (and goes on to callbacks) but answers 500.
    "accept_then_500_every_nth": 0,
    # Seconds to wait before answering any create (asyncio.sleep).
    "delay_seconds": 0.0,
    # E.164 numbers the every-Nth faults above never fail (they still wait delay_seconds):
    # a test can load the server with faults and still time one text exactly.
    "spared_numbers": [],
    # E.164 -> Twilio error code answered as HTTP 400 at create (not recorded).
    "errors_for_numbers": {},
    # E.164 -> error code: accepted, then callbacks sent -> undelivered with ErrorCode.
    "undelivered_numbers": {},
    # E.164 -> error code: accepted, then a single callback failed with ErrorCode.
    "failed_numbers": {},
    # Post status callbacks at all.
    "callbacks": True,
    # Seconds before each status change (and its callback).
    "callback_delay_seconds": 0.05,
    # Post the final status first and "sent" after it (Twilio does not promise order).
    "callbacks_out_of_order": False,
    # Reject a To that is not E.164 with 21211.
    "validate_e164": True,
}

_E164 = re.compile(r"^\+[1-9]\d{1,14}$")
_GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = set("^{}\\[~]|€\f")
_STATUS_RANK = {
    "accepted": 0,
    "queued": 0,
    "sent": 1,
    "delivered": 2,
    "undelivered": 2,
    "failed": 2,
}

STATE: web.AppKey[FakeTwilioState] = web.AppKey("fake_twilio_state")


def num_segments(body: str) -> int:
    """Segments Twilio would bill for ``body`` (GSM-7 160/153, else UCS-2 70/67)."""
    units = 0
    for ch in body:
        if ch in _GSM7_BASIC:
            units += 1
        elif ch in _GSM7_EXTENDED:
            units += 2
        else:
            units = len(body.encode("utf-16-le")) // 2
            return 1 if units <= 70 else math.ceil(units / 67)
    return 1 if units <= 160 else math.ceil(units / 153)


_date_cache: tuple[int, str] = (0, "")


def rfc2822(now: float | None = None) -> str:
    """Twilio's date format, e.g. ``Mon, 16 Aug 2010 03:45:01 +0000`` (cached per second)."""
    global _date_cache
    second = int(time.time() if now is None else now)
    if _date_cache[0] != second:
        _date_cache = (second, formatdate(second).replace("-0000", "+0000"))
    return _date_cache[1]


def error_body(code: int, status: int, **fmt: Any) -> dict[str, Any]:
    """Twilio's legacy error JSON (what makes twilio-python raise TwilioRestException)."""
    template = ERROR_MESSAGES.get(code, f"Error {code}")
    try:
        message = template.format(**fmt)
    except (KeyError, IndexError):
        message = template
    return {
        "code": code,
        "message": message,
        "more_info": MORE_INFO.format(code=code),
        "status": status,
    }


def _json(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(
        text=json.dumps(data), status=status, headers=headers, content_type="application/json"
    )


def _twilio_error(code: int, status: int, **fmt: Any) -> web.Response:
    return _json(error_body(code, status, **fmt), status)


def _validate_faults(raw: Any) -> dict[str, Any]:
    """Full fault settings from a JSON object: defaults plus the given keys, checked."""
    if not isinstance(raw, dict):
        raise ValueError("faults must be a JSON object")
    unknown = sorted(set(raw) - set(FAULT_DEFAULTS))
    if unknown:
        raise ValueError(
            f"unknown fault(s): {', '.join(unknown)}; known: {', '.join(sorted(FAULT_DEFAULTS))}"
        )
    faults = {k: (dict(v) if isinstance(v, dict) else v) for k, v in FAULT_DEFAULTS.items()}
    for key, value in raw.items():
        default = FAULT_DEFAULTS[key]
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise ValueError(f"{key} must be true or false")
        elif isinstance(default, int):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{key} must be an integer >= 0")
        elif isinstance(default, float):
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{key} must be a number >= 0")
            value = float(value)
        elif isinstance(default, list):
            if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
                raise ValueError(f"{key} must be a list of E.164 numbers")
            value = list(value)
        elif isinstance(default, dict):
            if not isinstance(value, dict):
                raise ValueError(f"{key} must be an object of E.164 number -> error code")
            try:
                value = {str(num): int(code) for num, code in value.items()}
            except (TypeError, ValueError):
                raise ValueError(f"{key} values must be integer error codes") from None
        faults[key] = value
    return faults


class FakeTwilioState:
    """Everything one fake server knows: messages, counters, faults, pending work."""

    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.validator = RequestValidator(auth_token)
        self._basic = "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self.session: ClientSession | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.reset()

    def reset(self) -> None:
        for task in self.tasks:
            task.cancel()
        self.tasks = set()
        self.generation = getattr(self, "generation", 0) + 1
        self.messages: dict[str, dict[str, Any]] = {}
        self.faults = _validate_faults({})
        self.nth = 0
        self.pending = 0
        self.stats: dict[str, int] = dict.fromkeys(
            (
                "requests",
                "accepted",
                "unauthorized",
                "rejected_429",
                "rejected_500",
                "accepted_then_500",
                "errors",
                "callbacks_posted",
                "callbacks_ok",
                "callbacks_failed",
            ),
            0,
        )

    def set_faults(self, raw: Any) -> dict[str, Any]:
        self.faults = _validate_faults(raw)
        self.nth = 0
        return self.faults

    def authorized(self, header: str | None) -> bool:
        if header is None:
            return False
        if header == self._basic:
            return True
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return user == self.account_sid and password == self.auth_token

    # -- the message resource -------------------------------------------------------

    def resource(self, msg: dict[str, Any]) -> dict[str, Any]:
        """The message as Twilio's API renders it."""
        uri = MESSAGE_PATH.format(account_sid=self.account_sid, sid=msg["sid"])
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": msg["body"],
            "date_created": msg["date_created"],
            "date_sent": msg["date_sent"],
            "date_updated": msg["date_updated"],
            "direction": "outbound-api",
            "error_code": msg["error_code"],
            "error_message": msg["error_message"],
            "from": msg["from"]
            if msg["from"] is not None
            else (SERVICE_FROM if msg["date_sent"] else None),
            "messaging_service_sid": msg["messaging_service_sid"],
            "num_media": "0",
            "num_segments": str(msg["num_segments"]),
            "price": None,
            "price_unit": "USD",
            "sid": msg["sid"],
            "status": msg["status"],
            "subresource_uris": {
                "media": uri[:-5] + "/Media.json",
                "feedback": uri[:-5] + "/Feedback.json",
            },
            "to": msg["to"],
            "uri": uri,
        }

    def set_status(self, msg: dict[str, Any], status: str, code: int | None) -> None:
        """Move a message forward (never backward, whatever order events come in)."""
        if _STATUS_RANK[status] <= _STATUS_RANK[msg["status"]]:
            return
        msg["status"] = status
        msg["date_updated"] = rfc2822()
        if status == "sent" or (status in ("delivered", "undelivered") and not msg["date_sent"]):
            msg["date_sent"] = msg["date_updated"]
        if code is not None:
            msg["error_code"] = code
            msg["error_message"] = ERROR_MESSAGES.get(code)

    def schedule(self, msg: dict[str, Any], faults: dict[str, Any]) -> None:
        """Plan the status changes (and callbacks) of an accepted message."""
        to = msg["to"]
        if to in faults["failed_numbers"]:
            plan: list[tuple[str, int | None]] = [("failed", faults["failed_numbers"][to])]
        elif to in faults["undelivered_numbers"]:
            plan = [("sent", None), ("undelivered", faults["undelivered_numbers"][to])]
        else:
            plan = [("sent", None), ("delivered", None)]
        delay = faults["callback_delay_seconds"]
        self.pending += 1
        loop = asyncio.get_running_loop()
        if msg["status_callback"] and faults["callbacks"]:
            if faults["callbacks_out_of_order"]:
                plan.reverse()
            task = loop.create_task(self._run(msg, plan, delay))
            self.tasks.add(task)
            task.add_done_callback(self._task_done)
        else:
            # No HTTP to do: advance the status on the same clock, with cheap timers.
            for i, (status, code) in enumerate(plan, 1):
                loop.call_later(
                    delay * i, self._advance, msg, status, code, i == len(plan), self.generation
                )

    def _advance(
        self, msg: dict[str, Any], status: str, code: int | None, last: bool, generation: int
    ) -> None:
        if generation != self.generation:  # reset since: forget it
            return
        self.set_status(msg, status, code)
        if last:
            self.pending -= 1

    def _task_done(self, task: asyncio.Task[None]) -> None:
        if task in self.tasks:
            self.tasks.discard(task)
            self.pending -= 1

    async def _run(
        self, msg: dict[str, Any], plan: list[tuple[str, int | None]], delay: float
    ) -> None:
        for status, code in plan:
            await asyncio.sleep(delay)
            self.set_status(msg, status, code)
            await self._post_callback(msg, status, code)

    async def _post_callback(self, msg: dict[str, Any], status: str, code: int | None) -> None:
        url = msg["status_callback"]
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "From": msg["from"] if msg["from"] is not None else SERVICE_FROM,
            "MessageSid": msg["sid"],
            "MessageStatus": status,
            "SmsSid": msg["sid"],
            "SmsStatus": status,
            "To": msg["to"],
        }
        if msg["messaging_service_sid"]:
            params["MessagingServiceSid"] = msg["messaging_service_sid"]
        if code is not None:
            params["ErrorCode"] = str(code)
        headers = {
            "X-Twilio-Signature": self.validator.compute_signature(url, params),
            "User-Agent": "TwilioProxy/1.1",
            "I-Twilio-Idempotency-Token": os.urandom(16).hex(),
        }
        record: dict[str, Any] = {
            "status": status,
            "error_code": code,
            "http_status": None,
            "error": None,
            "posted_at": time.time(),
        }
        msg["callbacks"].append(record)
        self.stats["callbacks_posted"] += 1
        try:
            assert self.session is not None
            async with self.session.post(url, data=params, headers=headers) as resp:
                await resp.read()
                record["http_status"] = resp.status
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a broken receiver must not break the server
            record["error"] = f"{type(exc).__name__}: {exc}"
        if record["http_status"] is not None and 200 <= record["http_status"] < 300:
            self.stats["callbacks_ok"] += 1
        else:
            self.stats["callbacks_failed"] += 1


# -- handlers -----------------------------------------------------------------------


async def create_message(request: web.Request) -> web.Response:
    st = request.app[STATE]
    st.stats["requests"] += 1
    if not st.authorized(request.headers.get("Authorization")):
        st.stats["unauthorized"] += 1
        body = error_body(20003, 401)
        body["detail"] = "Your AccountSid or AuthToken was incorrect."
        return _json(body, 401, {"WWW-Authenticate": 'Basic realm="Twilio API"'})
    if request.match_info["account_sid"] != st.account_sid:
        st.stats["errors"] += 1
        return _twilio_error(20404, 404, path=request.path)
    st.nth += 1
    n = st.nth
    faults = st.faults
    generation = st.generation
    form = await request.post()
    if faults["delay_seconds"]:
        await asyncio.sleep(faults["delay_seconds"])
    spared = form.get("To") in faults["spared_numbers"]

    every = faults["every_nth_429"]
    if every and n % every == 0 and not spared:
        st.stats["rejected_429"] += 1
        return _twilio_error(20429, 429)
    every = faults["error_500_every_nth"]
    if every and n % every == 0 and not spared:
        st.stats["rejected_500"] += 1
        return _twilio_error(20500, 500)

    to = form.get("To") or ""
    from_ = form.get("From") or None
    service = form.get("MessagingServiceSid") or None
    body = form.get("Body") or ""
    assert isinstance(to, str) and isinstance(body, str)
    code = 0
    if not to:
        code = 21604
    elif not from_ and not service:
        code = 21603
    elif not body and not form.get("MediaUrl") and not form.get("ContentSid"):
        code = 21602
    elif len(body) > 1600:
        code = 21617
    elif faults["validate_e164"] and not _E164.match(to):
        code = 21211
    elif to in faults["errors_for_numbers"]:
        code = faults["errors_for_numbers"][to]
    if code:
        st.stats["errors"] += 1
        return _twilio_error(code, 400, to=to, from_=from_ or SERVICE_FROM)

    validity = form.get("ValidityPeriod")
    if isinstance(validity, str):
        with contextlib.suppress(ValueError):
            validity = int(validity)
    now = time.time()
    created = rfc2822(now)
    sid = "SM" + os.urandom(16).hex()
    msg: dict[str, Any] = {
        "sid": sid,
        "account_sid": st.account_sid,
        "to": to,
        "from": from_,
        "messaging_service_sid": service,
        "body": body,
        "status_callback": form.get("StatusCallback") or None,
        "validity_period": validity,
        "num_segments": num_segments(body),
        "received_at": now,
        "date_created": created,
        "date_updated": created,
        "date_sent": None,
        "status": "queued" if from_ else "accepted",
        "error_code": None,
        "error_message": None,
        "response_status": 201,
        "params": {k: v for k, v in form.items() if isinstance(v, str)},
        "callbacks": [],
    }
    every = faults["accept_then_500_every_nth"]
    ambiguous = bool(every and n % every == 0) and not spared
    if ambiguous:
        msg["response_status"] = 500
    if generation == st.generation:  # not reset while we slept
        st.messages[sid] = msg
        st.stats["accepted"] += 1
        st.schedule(msg, faults)
    if ambiguous:
        st.stats["accepted_then_500"] += 1
        return _twilio_error(20500, 500)
    return _json(st.resource(msg), 201)


def _check_auth(request: web.Request) -> web.Response | None:
    st = request.app[STATE]
    if not st.authorized(request.headers.get("Authorization")):
        st.stats["unauthorized"] += 1
        return _json(error_body(20003, 401), 401, {"WWW-Authenticate": 'Basic realm="Twilio API"'})
    if request.match_info["account_sid"] != st.account_sid:
        return _twilio_error(20404, 404, path=request.path)
    return None


async def fetch_message(request: web.Request) -> web.Response:
    denied = _check_auth(request)
    if denied is not None:
        return denied
    st = request.app[STATE]
    msg = st.messages.get(request.match_info["sid"])
    if msg is None:
        return _twilio_error(20404, 404, path=request.path)
    return _json(st.resource(msg))


async def list_messages(request: web.Request) -> web.Response:
    """Newest first, filtered by To / From, paged by PageSize (max 1000) and Page."""
    denied = _check_auth(request)
    if denied is not None:
        return denied
    st = request.app[STATE]
    q = request.query
    to, from_ = q.get("To"), q.get("From")
    try:
        page_size = max(1, min(int(q.get("PageSize", "50")), 1000))
        page = max(0, int(q.get("Page", "0")))
    except ValueError:
        return _twilio_error(20001, 400)
    found = [
        m
        for m in reversed(st.messages.values())
        if (to is None or m["to"] == to)
        and (from_ is None or m["from"] == from_ or (m["from"] is None and from_ == SERVICE_FROM))
    ]
    chunk = found[page * page_size : (page + 1) * page_size]
    base = MESSAGES_PATH.format(account_sid=st.account_sid)
    filters = [(k, v) for k, v in (("To", to), ("From", from_)) if v is not None]

    def page_uri(p: int) -> str:
        return f"{base}?" + urlencode([("PageSize", page_size), ("Page", p), *filters])

    has_next = (page + 1) * page_size < len(found)
    return _json(
        {
            "messages": [st.resource(m) for m in chunk],
            "end": page * page_size + len(chunk) - 1,
            "first_page_uri": page_uri(0),
            "next_page_uri": page_uri(page + 1) if has_next else None,
            "page": page,
            "page_size": page_size,
            "previous_page_uri": page_uri(page - 1) if page > 0 else None,
            "start": page * page_size,
            "uri": page_uri(page),
        }
    )


async def fake_health(request: web.Request) -> web.Response:
    st = request.app[STATE]
    return _json({"ok": True, "account_sid": st.account_sid, "pid": os.getpid()})


async def fake_messages(request: web.Request) -> web.Response:
    st = request.app[STATE]
    to, status, sid = (request.query.get(k) for k in ("to", "status", "sid"))
    found = [
        m
        for m in st.messages.values()
        if (to is None or m["to"] == to)
        and (status is None or m["status"] == status)
        and (sid is None or m["sid"] == sid)
    ]
    return _json(found)


async def fake_stats(request: web.Request) -> web.Response:
    st = request.app[STATE]
    return _json(
        {
            **st.stats,
            "messages": len(st.messages),
            "pending": st.pending,
            "create_requests_since_faults": st.nth,
        }
    )


async def fake_get_faults(request: web.Request) -> web.Response:
    return _json(request.app[STATE].faults)


async def fake_set_faults(request: web.Request) -> web.Response:
    st = request.app[STATE]
    try:
        raw = await request.json() if request.can_read_body else {}
    except json.JSONDecodeError as exc:
        return _json({"error": f"invalid JSON: {exc}"}, 400)
    try:
        return _json(st.set_faults(raw))
    except ValueError as exc:
        return _json({"error": str(exc)}, 400)


async def fake_reset(request: web.Request) -> web.Response:
    request.app[STATE].reset()
    return _json({"ok": True})


async def _on_startup(app: web.Application) -> None:
    app[STATE].session = ClientSession(
        timeout=ClientTimeout(total=15), connector=TCPConnector(limit=64), auto_decompress=False
    )


async def _on_cleanup(app: web.Application) -> None:
    st = app[STATE]
    for task in list(st.tasks):
        task.cancel()
    if st.tasks:
        await asyncio.gather(*st.tasks, return_exceptions=True)
    if st.session is not None:
        await st.session.close()


def create_app(account_sid: str, auth_token: str) -> web.Application:
    """The aiohttp application (run it with AppRunner and ``access_log=None``)."""
    app = web.Application(client_max_size=1024 * 1024)
    app[STATE] = FakeTwilioState(account_sid, auth_token)
    app.router.add_post("/2010-04-01/Accounts/{account_sid}/Messages.json", create_message)
    app.router.add_get("/2010-04-01/Accounts/{account_sid}/Messages.json", list_messages)
    app.router.add_get("/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json", fetch_message)
    app.router.add_get("/_fake/health", fake_health)
    app.router.add_get("/_fake/messages", fake_messages)
    app.router.add_get("/_fake/stats", fake_stats)
    app.router.add_get("/_fake/faults", fake_get_faults)
    app.router.add_post("/_fake/faults", fake_set_faults)
    app.router.add_post("/_fake/reset", fake_reset)
    app.on_startup.append(_on_startup)
    app.on_cleanup.append(_on_cleanup)
    return app
