"""POST /twilio/status: signed, idempotent, monotonic."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select, text

from service.domain import delivery, sending
from service.models import OutboundMessage, StatusEvent, Subscriber, utcnow
from tests.support.phone import new_sid, sign
from tests.support.records import add_subscriber

URL = "https://rallyline.example.org/twilio/status"
NUMBER = "+12155550100"


@pytest.fixture
def sent_message(session, runtime):  # type: ignore[no-untyped-def]
    subscriber = add_subscriber(session, runtime.vault, NUMBER)
    message = sending.queue_notice(session, runtime.vault, "hello", subscriber=subscriber)
    message.status, message.provider_sid = "sent", new_sid()
    session.commit()
    return message


def callback(client, sid, status, error_code=None):  # type: ignore[no-untyped-def]
    data = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "0" * 32}
    if error_code:
        data["ErrorCode"] = str(error_code)
    return client.post("/twilio/status", data=data, headers={"X-Twilio-Signature": sign(URL, data)})


def ledger(session, message):  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.get(OutboundMessage, message.id)


def test_delivered_is_recorded(client, session, sent_message):
    assert callback(client, sent_message.provider_sid, "delivered").status_code == 200
    assert ledger(session, sent_message).status == "delivered"


def test_status_only_moves_forward(client, session, sent_message):
    callback(client, sent_message.provider_sid, "delivered")
    callback(client, sent_message.provider_sid, "sent")
    callback(client, sent_message.provider_sid, "sending")
    assert ledger(session, sent_message).status == "delivered"


def test_repeated_callback_is_kept_once(client, session, sent_message):
    for _ in range(3):
        assert callback(client, sent_message.provider_sid, "delivered").status_code == 200
    assert session.scalar(select(func.count()).select_from(StatusEvent)) == 1


def test_undelivered_records_the_error_and_a_dead_handset_stops_sends(
    client, session, sent_message
):
    callback(client, sent_message.provider_sid, "undelivered", 30006)
    row = ledger(session, sent_message)
    assert (row.status, row.error_code) == ("undelivered", 30006)
    assert session.get(Subscriber, row.subscriber_id).status == "unreachable"


def test_a_temporary_error_does_not_stop_sends(client, session, sent_message):
    callback(client, sent_message.provider_sid, "undelivered", 30003)
    assert session.get(Subscriber, ledger(session, sent_message).subscriber_id).status == "active"


def test_callback_before_the_worker_recorded_the_sid_is_applied_later(
    client, session, runtime, sent_message
):
    early_sid = new_sid()
    message = sending.queue_notice(session, runtime.vault, "hi", to="+12155550111")
    session.commit()
    assert callback(client, early_sid, "delivered").status_code == 200
    sending.record_sent(session, message.id, early_sid, utcnow())
    session.commit()
    assert ledger(session, message).status == "delivered"


def test_unsigned_callback_is_403_with_no_effect(client, session, sent_message):
    data = {"MessageSid": sent_message.provider_sid, "MessageStatus": "failed"}
    assert client.post("/twilio/status", data=data).status_code == 403
    assert ledger(session, sent_message).status == "sent"


@pytest.mark.parametrize(
    "data",
    [
        {"MessageStatus": "delivered"},
        {"MessageSid": new_sid(), "MessageStatus": "exploded"},
        {"MessageSid": new_sid(), "MessageStatus": "failed", "ErrorCode": "abc"},
        {"MessageSid": "nope", "MessageStatus": "delivered"},
    ],
)
def test_bad_callbacks_get_400(client, session, data):
    response = client.post(
        "/twilio/status", data=data, headers={"X-Twilio-Signature": sign(URL, data)}
    )
    assert response.status_code == 400 and response.data.strip()
    assert session.scalar(select(func.count()).select_from(StatusEvent)) == 0


def test_concurrent_callbacks_never_move_the_ledger_back(session, runtime, sent_message):
    """A late `sent` handled while `delivered` is still uncommitted must not win."""
    if runtime.database.is_sqlite:
        pytest.skip("SQLite lets one writer at a time in: the two cannot overlap")
    sent_message.status = "unknown"  # a worker died before recording it: no rank yet
    session.commit()
    sid = sent_message.provider_sid
    late = threading.Thread(target=lambda: _record_and_commit(runtime, sid, "sent"))
    with runtime.database.session() as first:
        delivery.record(first, sid, "delivered", None, utcnow())
        first.flush()  # the first callback's change is written, not yet committed
        late.start()
        deadline = time.monotonic() + 10
        # The late callback is waiting for the first one's row lock.
        while not session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
        ):
            session.rollback()
            assert time.monotonic() < deadline, "the late callback never waited for the row"
            time.sleep(0.01)
    late.join(timeout=10)
    assert not late.is_alive()
    assert ledger(session, sent_message).status == "delivered"


def _record_and_commit(runtime, sid, status):  # type: ignore[no-untyped-def]
    with runtime.database.session() as second:
        delivery.record(second, sid, status, None, utcnow())
