"""The fake Twilio server, driven by the real twilio-python client."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.fake_twilio.control import FakeTwilio, FakeTwilioError

FROM = "+15005550006"
TO = "+15005550001"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio.start() as server:
        yield server


@pytest.fixture(autouse=True)
def _clean(fake: FakeTwilio) -> None:
    fake.reset()


@pytest.fixture
def client(fake: FakeTwilio) -> Client:
    return fake.client(timeout=5.0)


class Receiver:
    """A status-callback endpoint on 127.0.0.1 that records what it is posted."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.status_code = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode()
                with receiver.lock:
                    receiver.calls.append(
                        {
                            "path": self.path,
                            "signature": self.headers.get("X-Twilio-Signature"),
                            "content_type": self.headers.get("Content-Type"),
                            "params": dict(parse_qsl(body, keep_blank_values=True)),
                        }
                    )
                self.send_response(receiver.status_code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                calls = list(self.calls)
            if len(calls) >= count:
                return calls
            if time.monotonic() >= deadline:
                raise AssertionError(f"expected {count} callbacks, got {calls!r}")
            time.sleep(0.01)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_create_is_recorded(fake: FakeTwilio, client: Client) -> None:
    before = time.time()
    msg = client.messages.create(
        to=TO,
        from_=FROM,
        body="Meet at 5",
        validity_period=600,
        status_callback="http://127.0.0.1:9/status",
    )
    assert re.fullmatch(r"SM[0-9a-f]{32}", msg.sid)
    assert msg.status == "queued"
    assert (msg.to, msg.from_, msg.body, msg.num_segments) == (TO, FROM, "Meet at 5", "1")
    assert msg.account_sid == fake.account_sid and msg.error_code is None
    assert msg.date_created is not None

    [rec] = fake.wait_for_messages(1)
    assert rec["sid"] == msg.sid
    assert (rec["to"], rec["from"], rec["body"]) == (TO, FROM, "Meet at 5")
    assert rec["messaging_service_sid"] is None
    assert rec["status_callback"] == "http://127.0.0.1:9/status"
    assert rec["validity_period"] == 600
    assert before <= rec["received_at"] <= time.time()
    assert fake.messages(to="+15005550999") == []
    # The client can read it back, and it moves on to delivered.
    assert client.messages(msg.sid).fetch().sid == msg.sid
    assert fake.wait_for_status(msg.sid, "delivered")["date_sent"]


def test_messaging_service_send_is_accepted(fake: FakeTwilio, client: Client) -> None:
    service = "MG" + "1" * 32
    msg = client.messages.create(to=TO, messaging_service_sid=service, body="ł" * 71)
    assert msg.status == "accepted"  # what Twilio answers for a Messaging Service send
    assert msg.num_segments == "2"  # UCS-2: 70 per single segment
    [rec] = fake.messages()
    assert rec["messaging_service_sid"] == service and rec["from"] is None
    listed = client.messages.list(to=TO)
    assert [m.sid for m in listed] == [msg.sid]


def test_bad_credentials_are_401(fake: FakeTwilio) -> None:
    client = Client(fake.account_sid, "wrong", http_client=fake.client().http_client)
    client.api.base_url = fake.url
    with pytest.raises(TwilioRestException) as err:
        client.messages.create(to=TO, from_=FROM, body="x")
    assert (err.value.status, err.value.code) == (401, 20003)
    assert fake.stats()["unauthorized"] == 1 and fake.messages() == []


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"From": FROM, "Body": "x"}, 21604),
        ({"To": TO, "From": FROM}, 21602),
        ({"To": TO, "Body": "x"}, 21603),
        ({"To": "555-1234", "From": FROM, "Body": "x"}, 21211),
        ({"To": TO, "From": FROM, "Body": "x" * 1601}, 21617),
    ],
)
def test_invalid_creates_are_400(fake: FakeTwilio, fields: dict[str, str], code: int) -> None:
    resp = requests.post(
        fake.messages_url, data=fields, auth=(fake.account_sid, fake.auth_token), timeout=5
    )
    assert resp.status_code == 400
    body = resp.json()
    assert body["code"] == code and body["status"] == 400
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}" and body["message"]
    assert fake.messages() == []


def test_missing_to_raises_in_client(client: Client) -> None:
    with pytest.raises(TwilioRestException) as err:
        client.messages.create(to="", from_=FROM, body="x")
    assert (err.value.status, err.value.code) == (400, 21604)


def test_every_nth_429(fake: FakeTwilio, client: Client) -> None:
    fake.set_faults(every_nth_429=3)
    outcomes = []
    for i in range(9):
        try:
            client.messages.create(to=f"+1500555{i:04d}", from_=FROM, body="x")
            outcomes.append("ok")
        except TwilioRestException as exc:
            outcomes.append((exc.status, exc.code))
    assert outcomes == ["ok", "ok", (429, 20429)] * 3
    assert len(fake.messages()) == 6
    stats = fake.stats()
    assert (stats["requests"], stats["accepted"], stats["rejected_429"]) == (9, 6, 3)


def test_spared_numbers_escape_the_every_nth_faults(fake: FakeTwilio, client: Client) -> None:
    spared = "+15005550042"
    fake.set_faults(every_nth_429=1, error_500_every_nth=1, spared_numbers=[spared])
    with pytest.raises(TwilioRestException):
        client.messages.create(to="+15005550041", from_=FROM, body="x")
    client.messages.create(to=spared, from_=FROM, body="x")
    assert [m["to"] for m in fake.messages()] == [spared]
    with pytest.raises(FakeTwilioError, match="list"):
        fake.set_faults(spared_numbers="+15005550042")


def test_errors_for_numbers(fake: FakeTwilio, client: Client) -> None:
    fake.set_faults(errors_for_numbers={"+15005550009": 21610, "+15005550010": 21614})
    with pytest.raises(TwilioRestException) as err:
        client.messages.create(to="+15005550009", from_=FROM, body="x")
    assert (err.value.status, err.value.code) == (400, 21610)
    assert "unsubscribed" in err.value.msg
    with pytest.raises(TwilioRestException) as err:
        client.messages.create(to="+15005550010", from_=FROM, body="x")
    assert err.value.code == 21614
    client.messages.create(to=TO, from_=FROM, body="x")
    assert [m["to"] for m in fake.messages()] == [TO]


def test_500_and_accept_then_500(fake: FakeTwilio, client: Client) -> None:
    fake.set_faults(error_500_every_nth=1)
    with pytest.raises(TwilioRestException) as err:
        client.messages.create(to=TO, from_=FROM, body="x")
    assert (err.value.status, err.value.code) == (500, 20500)
    assert fake.messages() == []

    fake.set_faults(accept_then_500_every_nth=2)
    client.messages.create(to=TO, from_=FROM, body="first")
    with pytest.raises(TwilioRestException) as err:
        client.messages.create(to=TO, from_=FROM, body="second")
    assert err.value.status == 500
    recorded = fake.messages()
    assert [m["body"] for m in recorded] == ["first", "second"]  # sent, though it said 500
    assert recorded[1]["response_status"] == 500
    assert fake.stats()["accepted_then_500"] == 1


def test_delay_and_client_timeout(fake: FakeTwilio) -> None:
    fake.set_faults(delay_seconds=0.4)
    impatient = fake.client(timeout=0.1)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.Timeout):  # not a TwilioException
        impatient.messages.create(to=TO, from_=FROM, body="x")
    assert time.monotonic() - started < 0.35
    # The server went on and accepted it: the "outcome unknown" case.
    fake.wait_for_messages(1)

    patient = fake.client(timeout=3.0)
    started = time.monotonic()
    assert patient.messages.create(to=TO, from_=FROM, body="y").status == "queued"
    assert time.monotonic() - started >= 0.4


def test_status_callbacks_are_signed_and_ordered(
    fake: FakeTwilio, client: Client, receiver: Receiver
) -> None:
    url = f"{receiver.url}/twilio/status?campaign=7"
    msg = client.messages.create(to=TO, from_=FROM, body="x", status_callback=url)
    calls = receiver.wait_for(2)
    assert [c["params"]["MessageStatus"] for c in calls] == ["sent", "delivered"]
    validator = RequestValidator(fake.auth_token)
    for call in calls:
        assert call["path"] == "/twilio/status?campaign=7"
        assert call["content_type"].startswith("application/x-www-form-urlencoded")
        assert validator.validate(url, call["params"], call["signature"])
        assert not validator.validate(url, {**call["params"], "To": "+1999"}, call["signature"])
        p = call["params"]
        assert (p["MessageSid"], p["SmsSid"], p["To"], p["From"]) == (msg.sid, msg.sid, TO, FROM)
        assert p["SmsStatus"] == p["MessageStatus"]
        assert p["AccountSid"] == fake.account_sid and p["ApiVersion"] == "2010-04-01"
        assert "ErrorCode" not in p
    rec = fake.wait_until(
        lambda: fake.message(msg.sid),
        lambda m: len(m["callbacks"]) == 2 and all(c["http_status"] for c in m["callbacks"]),
        what="callbacks",
    )
    assert rec["status"] == "delivered"
    assert [c["http_status"] for c in rec["callbacks"]] == [200, 200]


def test_undelivered_and_failed_callbacks(
    fake: FakeTwilio, client: Client, receiver: Receiver
) -> None:
    fake.set_faults(
        undelivered_numbers={"+15005550020": 30003},
        failed_numbers={"+15005550021": 30008},
        callback_delay_seconds=0.01,
    )
    url = receiver.url + "/status"
    client.messages.create(to="+15005550020", from_=FROM, body="x", status_callback=url)
    calls = receiver.wait_for(2)
    assert [c["params"]["MessageStatus"] for c in calls] == ["sent", "undelivered"]
    assert "ErrorCode" not in calls[0]["params"]
    assert calls[1]["params"]["ErrorCode"] == "30003"
    assert RequestValidator(fake.auth_token).validate(
        url, calls[1]["params"], calls[1]["signature"]
    )

    msg = client.messages.create(to="+15005550021", from_=FROM, body="x", status_callback=url)
    calls = receiver.wait_for(3)
    assert calls[2]["params"]["MessageStatus"] == "failed"
    assert calls[2]["params"]["ErrorCode"] == "30008"
    rec = fake.wait_for_status(msg.sid, "failed")
    assert rec["error_code"] == 30008
    assert client.messages(msg.sid).fetch().error_code == 30008


def test_out_of_order_callbacks_keep_status_monotonic(
    fake: FakeTwilio, client: Client, receiver: Receiver
) -> None:
    fake.set_faults(callbacks_out_of_order=True, callback_delay_seconds=0.01)
    msg = client.messages.create(to=TO, from_=FROM, body="x", status_callback=receiver.url + "/s")
    calls = receiver.wait_for(2)
    assert [c["params"]["MessageStatus"] for c in calls] == ["delivered", "sent"]
    assert fake.wait_for_idle()["pending"] == 0
    assert fake.message(msg.sid)["status"] == "delivered"


def test_callbacks_off_and_broken_receivers(
    fake: FakeTwilio, client: Client, receiver: Receiver
) -> None:
    fake.set_faults(callbacks=False, callback_delay_seconds=0.01)
    msg = client.messages.create(to=TO, from_=FROM, body="x", status_callback=receiver.url + "/s")
    fake.wait_for_status(msg.sid, "delivered")
    assert receiver.calls == []

    # A receiver that errors or is gone is recorded, and the server carries on.
    fake.set_faults(callback_delay_seconds=0.01)
    receiver.status_code = 500
    client.messages.create(to=TO, from_=FROM, body="x", status_callback=receiver.url + "/s")
    client.messages.create(to=TO, from_=FROM, body="x", status_callback="http://127.0.0.1:9/")
    stats = fake.wait_for_idle(timeout=5)
    assert (stats["callbacks_posted"], stats["callbacks_ok"], stats["callbacks_failed"]) == (
        4,
        0,
        4,
    )
    statuses = [[c["http_status"] for c in m["callbacks"]] for m in fake.messages()]
    assert statuses == [[], [500, 500], [None, None]]
    assert fake.messages()[2]["callbacks"][0]["error"]
    assert fake.health()["ok"]


def test_faults_are_validated_and_reset(fake: FakeTwilio) -> None:
    with pytest.raises(FakeTwilioError, match="unknown fault"):
        fake.set_faults(every_nth_428=3)
    with pytest.raises(FakeTwilioError, match="integer"):
        fake.set_faults(every_nth_429="3")
    applied = fake.set_faults(every_nth_429=2, delay_seconds=0)
    assert applied["every_nth_429"] == 2 and applied["callbacks"] is True
    fake.reset()
    assert fake.faults()["every_nth_429"] == 0
    assert fake.stats()["requests"] == 0


def test_wait_for_messages_reports_what_it_saw(fake: FakeTwilio) -> None:
    with pytest.raises(AssertionError, match="2 message"):
        fake.wait_for_messages(2, timeout=0.1)


def test_start_fails_clearly() -> None:
    with pytest.raises(FakeTwilioError, match="did not start"):
        FakeTwilio.start(host="10.1.2.3", startup_timeout=10)
