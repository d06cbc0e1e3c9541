"""Status callbacks the ledger missed, applied by the clock's catch-up pass."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

import workers.sweeps
from service.domain import delivery, sending
from service.models import OutboundMessage, Subscriber, utcnow
from tests.support.phone import new_sid
from tests.support.records import add_subscriber

NUMBER = "+12155550100"


def recorded_after_its_callback(  # type: ignore[no-untyped-def]
    session, runtime, status="delivered", error_code=None, received=None, **to
):
    """What a worker killed between recording a text and applying the callback that beat
    the record leaves: the callback stored, the text recorded sent."""
    message = sending.queue_notice(session, runtime.vault, "The camp moved.", **to)
    sid = new_sid()
    delivery.record(session, sid, status, error_code, received or utcnow())
    message.status, message.provider_sid, message.sent_at = "sent", sid, utcnow()
    session.commit()
    return message.id


def status(runtime, message_id):  # type: ignore[no-untyped-def]
    with runtime.database.session(immediate=False) as session:
        return session.get(OutboundMessage, message_id).status


def catch_up(runtime, since=timedelta(minutes=1), until=timedelta(seconds=1)):  # type: ignore[no-untyped-def]
    """A pass over the callbacks received from `since` ago to `until` from now."""
    now = utcnow()
    with runtime.database.session() as session:
        return delivery.catch_up(session, now - since, now + until, now)


def test_a_callback_handled_while_the_record_was_uncommitted_is_applied_by_the_pass(
    session, runtime
):
    """The race itself, on PostgreSQL: the callback's UPDATE does not see the uncommitted
    id, and the record's look for early callbacks came before the callback was stored."""
    if runtime.database.is_sqlite:
        pytest.skip("SQLite lets one writer at a time in: the two cannot overlap")
    message = sending.queue_notice(session, runtime.vault, "The camp moved.", to=NUMBER)
    session.commit()
    sid = new_sid()
    with runtime.database.session() as recorder:
        sending.record_sent(recorder, message.id, sid, utcnow())  # written, not committed
        with runtime.database.session() as webhook:
            delivery.record(webhook, sid, "delivered", None, utcnow())
    assert status(runtime, message.id) == "sent"  # neither applied it

    assert catch_up(runtime) == 1
    assert status(runtime, message.id) == "delivered"


def test_a_callback_stored_before_a_worker_died_is_applied_once(session, runtime):
    message_id = recorded_after_its_callback(session, runtime, to=NUMBER)
    assert status(runtime, message_id) == "sent"

    assert catch_up(runtime) == 1
    assert status(runtime, message_id) == "delivered"
    assert catch_up(runtime) == 0


def test_a_pass_applies_only_the_callbacks_received_in_its_window(session, runtime):
    message_id = recorded_after_its_callback(
        session, runtime, received=utcnow() - timedelta(minutes=5), to=NUMBER
    )
    assert catch_up(runtime, since=timedelta(minutes=1)) == 0
    assert catch_up(runtime, since=timedelta(minutes=10), until=-timedelta(minutes=6)) == 0
    assert status(runtime, message_id) == "sent"
    assert catch_up(runtime, since=timedelta(minutes=10), until=-timedelta(minutes=4)) == 1
    assert status(runtime, message_id) == "delivered"


def test_the_pass_never_moves_a_text_back(session, runtime):
    message_id = recorded_after_its_callback(session, runtime, status="sent", to=NUMBER)
    message = session.get(OutboundMessage, message_id)
    message.status = "delivered"
    session.commit()
    assert catch_up(runtime) == 0
    assert status(runtime, message_id) == "delivered"


def test_a_dead_number_learned_by_the_pass_ends_sends_to_it(session, runtime):
    subscriber = add_subscriber(session, runtime.vault, NUMBER)
    message_id = recorded_after_its_callback(
        session, runtime, status="undelivered", error_code=30006, subscriber=subscriber
    )
    assert catch_up(runtime) == 1
    assert status(runtime, message_id) == "undelivered"
    session.expire_all()
    assert session.get(Subscriber, subscriber.id).status == "unreachable"


def test_listeners_hear_of_a_move_the_pass_made(session, runtime, monkeypatch):
    heard = []
    monkeypatch.setitem(
        delivery.LISTENERS, "notice", [lambda _s, message, _now: heard.append(message.status)]
    )
    recorded_after_its_callback(session, runtime, status="failed", error_code=30003, to=NUMBER)
    assert catch_up(runtime) == 1
    assert heard == ["failed"]


@pytest.mark.parametrize("cursor_after_a_loss", [None, "not a time"])
def test_the_clock_looks_at_each_callback_once_it_has_settled(
    session, runtime, monkeypatch, cursor_after_a_loss
):
    monkeypatch.setattr(workers.sweeps, "current", lambda: runtime)
    runtime.redis.delete(workers.sweeps.CALLBACKS_CURSOR)
    now = utcnow()
    ago = {
        minutes: recorded_after_its_callback(
            session, runtime, received=now - timedelta(minutes=minutes), to=NUMBER
        )
        for minutes in (90, 10, 2)
    }
    settling = recorded_after_its_callback(session, runtime, received=now, to=NUMBER)
    runtime.redis.set(workers.sweeps.CALLBACKS_CURSOR, (now - timedelta(minutes=5)).isoformat())
    assert workers.sweeps.catch_up_callbacks() == 1  # only the one after the cursor
    assert status(runtime, ago[2]) == "delivered"
    assert status(runtime, ago[10]) == "sent"
    assert status(runtime, settling) == "sent"  # inside CALLBACKS_SETTLE: not yet
    cursor = datetime.fromisoformat(runtime.redis.get(workers.sweeps.CALLBACKS_CURSOR).decode())
    assert now - workers.sweeps.CALLBACKS_SETTLE <= cursor <= utcnow()
    assert workers.sweeps.catch_up_callbacks() == 0  # the window was looked at

    # With no cursor (Redis lost it), or one that is not a time, a pass looks an hour back.
    runtime.redis.delete(workers.sweeps.CALLBACKS_CURSOR)
    if cursor_after_a_loss is not None:
        runtime.redis.set(workers.sweeps.CALLBACKS_CURSOR, cursor_after_a_loss)
    assert workers.sweeps.catch_up_callbacks() == 1
    assert status(runtime, ago[10]) == "delivered"
    assert status(runtime, ago[90]) == "sent"  # beyond CALLBACKS_LOOKBACK
