"""Redis down: the webhook still answers and records, and follow-up work waits durably in the
outbox until the clock's sweep hands it to RQ, once."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from rq import Queue
from sqlalchemy import select

from service import create_app
from service.domain import outbox, people
from service.models import InboundMessage, OutboxEntry, Subscriber, utcnow
from tests.support.phone import Phone

DISPATCHER, RESPONDER, SUPPORTER = "+12155550101", "+12155550102", "+12155550103"


def test_follow_up_work_survives_a_redis_outage(config, session, runtime, redis_conn):
    people.register(session, runtime.vault, DISPATCHER, "dispatcher", name="Dee")
    people.register(session, runtime.vault, RESPONDER, "responder", name="Ray", tier=1)
    session.commit()
    # The same database, a Redis that refuses every connection.
    outage = create_app(replace(config, redis_url="redis://127.0.0.1:1/0")).test_client()

    assert "unsubscribed" in Phone(outage, SUPPORTER).text("STOP")
    reply = Phone(outage, DISPATCHER).text("ALERT fire at the north gate")
    assert reply and "opened. Paging 1 tier-1 responder" in reply

    session.expire_all()
    assert session.scalar(select(Subscriber.status)) == "opted_out"
    assert len(session.scalars(select(InboundMessage)).all()) == 2
    waiting = session.scalars(select(OutboxEntry).where(OutboxEntry.handed_at.is_(None))).all()
    assert waiting, "the page job waits in the outbox"
    assert all(Queue(e.queue, connection=redis_conn).count == 0 for e in waiting)

    # Redis is back: the sweep hands every entry over exactly once.
    later = utcnow() + timedelta(seconds=10)
    ids = outbox.waiting(session, later)
    assert ids == [e.id for e in waiting]
    assert outbox.hand_over(session, ids, runtime.enqueue, later) == len(ids)
    assert outbox.hand_over(session, ids, runtime.enqueue, later) == 0
    session.commit()
    assert outbox.waiting(session, later) == []
    queued = {
        job.func_name for e in waiting for job in Queue(e.queue, connection=redis_conn).get_jobs()
    }
    assert queued == {e.function for e in waiting}


def test_when_redis_is_up_work_is_handed_over_at_once(client, session, runtime, redis_conn):
    people.register(session, runtime.vault, DISPATCHER, "dispatcher", name="Dee")
    people.register(session, runtime.vault, RESPONDER, "responder", name="Ray", tier=1)
    session.commit()
    Phone(client, DISPATCHER).text("ALERT fire at the north gate")
    session.expire_all()
    entries = session.scalars(select(OutboxEntry)).all()
    assert entries and all(e.handed_at is not None for e in entries)
    assert outbox.waiting(session, utcnow() + timedelta(minutes=1)) == []
