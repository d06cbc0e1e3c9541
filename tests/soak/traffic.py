"""A steady stream of inbound texts, as Twilio would post them, with every answer recorded.

Connection failures (the web process restarting) are retried with the same MessageSid
and signature, as Twilio retries; forged and garbage requests are sent once.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import requests

from tests.support.phone import sign


@dataclass
class Sent:
    kind: str
    sid: str
    number: str
    body: str
    status: int | None = None  # the final HTTP answer, None if never answered
    answered_at: float | None = None


@dataclass
class TrafficLog:
    sent: list[Sent] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    retries: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of(self, kind: str) -> list[Sent]:
        with self.lock:
            return [s for s in self.sent if s.kind == kind]


class Traffic(threading.Thread):
    """Posts `rate` texts a second to the stack until stopped."""

    def __init__(
        self, url: str, token: str, rate: float, stoppers: list[str], rng: random.Random
    ) -> None:
        super().__init__(daemon=True, name="traffic")
        self.url = url
        self.token = token
        self.rate = rate
        self.stoppers = list(stoppers)  # broadcast recipients who will text STOP
        self.rng = rng
        self.log = TrafficLog()
        self.halt = threading.Event()
        self.session = requests.Session()
        self._fresh = 0

    def run(self) -> None:
        started = time.monotonic()
        count = 0
        while not self.halt.is_set():
            count += 1
            self._one()
            delay = started + count / self.rate - time.monotonic()
            if delay > 0:
                self.halt.wait(delay)

    def stop(self) -> None:
        self.halt.set()
        self.join(timeout=60)

    # --- what people text ------------------------------------------------------------

    def _one(self) -> None:
        roll = self.rng.random()
        if roll < 0.25:
            self._signed("join", self._new_number(), "JOIN")
        elif roll < 0.35 and self.stoppers:
            self._signed("stop", self.stoppers.pop(), self.rng.choice(["STOP", "stop", "ALTO"]))
        elif roll < 0.45:
            self._signed("zone", self._new_number(), "ZONE 19104")
        elif roll < 0.50:
            self._signed("report", self._new_number(), "REPORT police van at the north gate")
        elif roll < 0.60:
            self._signed("other", self._new_number(), "what time is the meeting?")
        elif roll < 0.75:
            self._duplicate()
        elif roll < 0.88:
            self._forged()
        else:
            self._garbage()

    def _new_number(self) -> str:
        self._fresh += 1
        return f"+1267{3000000 + self._fresh:07d}"

    def _form(self, number: str, body: str) -> dict[str, str]:
        return {
            "MessageSid": "SM" + uuid.uuid4().hex,
            "AccountSid": "AC" + "0" * 32,
            "From": number,
            "To": "+15005550006",
            "Body": body,
            "NumMedia": "0",
        }

    def _signed(self, kind: str, number: str, body: str) -> None:
        form = self._form(number, body)
        record = Sent(kind, form["MessageSid"], number, body)
        with self.log.lock:
            self.log.sent.append(record)
        self._deliver(record, form, sign(self.url, form, self.token), retry=True)

    def _duplicate(self) -> None:
        with self.log.lock:
            earlier = [s for s in self.log.sent if s.status == 200 and s.kind != "duplicate"]
        if not earlier:
            return
        original = self.rng.choice(earlier)
        form = self._form(original.number, original.body)
        form["MessageSid"] = original.sid
        record = Sent("duplicate", original.sid, original.number, original.body)
        with self.log.lock:
            self.log.sent.append(record)
        self._deliver(record, form, sign(self.url, form, self.token), retry=True)

    def _forged(self) -> None:
        form = self._form(self._new_number(), self.rng.choice(["JOIN", "STOP", "ALERT fake"]))
        record = Sent("forged", form["MessageSid"], form["From"], form["Body"])
        with self.log.lock:
            self.log.sent.append(record)
        self._deliver(record, form, sign(self.url, form, "not-the-token"), retry=True)

    def _garbage(self) -> None:
        record = Sent("garbage", "", "", "")
        with self.log.lock:
            self.log.sent.append(record)
        payload = bytes(self.rng.getrandbits(8) for _ in range(self.rng.randrange(1, 300)))
        self._post(
            record,
            payload,
            {"X-Twilio-Signature": "garbage", "Content-Type": "application/x-www-form-urlencoded"},
            retry=True,
        )

    def _deliver(self, record: Sent, form: dict[str, str], signature: str, retry: bool) -> None:
        self._post(record, form, {"X-Twilio-Signature": signature}, retry)

    def _post(self, record: Sent, data: object, headers: dict[str, str], retry: bool) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = self.session.post(self.url, data=data, headers=headers, timeout=15)
            except requests.RequestException:
                if not retry or time.monotonic() > deadline or self.halt.is_set():
                    return
                with self.log.lock:
                    self.log.retries += 1
                time.sleep(0.5)  # the web process is restarting; Twilio would try again
                continue
            if response.status_code == 503 and retry and time.monotonic() < deadline:
                with self.log.lock:
                    self.log.retries += 1
                time.sleep(0.5)
                continue
            with self.log.lock:
                record.status = response.status_code
                record.answered_at = time.time()
                self.log.statuses[response.status_code] += 1
            return
