"""Retention: old bodies and expired codes go; what must stay, stays."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from service.domain import delivery, retention, sending
from service.models import InboundMessage, OutboundMessage, OutboxEntry, StatusEvent, utcnow
from service.models.broadcasts import Broadcast


def test_purge(phone, session, runtime):
    now = utcnow()
    phone("+12155550100").text("JOIN")
    phone("+12155550100").text("my brother was taken at the bus stop")
    old, recent = session.scalars(select(InboundMessage).order_by(InboundMessage.id)).all()
    old.received_at = now - timedelta(days=31)
    sent = sending.queue_notice(session, runtime.vault, "old notice", to="+12155550111")
    sent.status, sent.updated_at = "delivered", now - timedelta(days=31)
    sent.provider_sid = "SM" + "1" * 32
    delivery.record(session, sent.provider_sid, "delivered", None, now - timedelta(days=31))
    delivery.record(session, "SM" + "2" * 32, "delivered", None, now - timedelta(days=29))
    waiting = sending.queue_notice(session, runtime.vault, "still queued", to="+12155550112")
    waiting.updated_at = now - timedelta(days=31)
    stale = Broadcast(
        kind="bcast",
        body_enc=runtime.vault.encrypt("x"),
        code="4821",
        code_expires_at=now - timedelta(hours=2),
    )
    live = Broadcast(
        kind="bcast",
        body_enc=runtime.vault.encrypt("y"),
        code="1234",
        code_expires_at=now + timedelta(minutes=5),
    )
    just_expired = Broadcast(
        kind="bcast",
        body_enc=runtime.vault.encrypt("z"),
        code="5555",
        code_expires_at=now - timedelta(minutes=5),
    )
    session.add_all(
        [
            stale,
            live,
            just_expired,
            OutboxEntry(queue="default", function="f", args=[], handed_at=now - timedelta(days=2)),
            OutboxEntry(queue="default", function="f", args=[], handed_at=None),
        ]
    )
    session.commit()

    counts = retention.purge(session, now, retention_days=30)
    session.commit()
    assert counts == {
        "inbound_bodies": 1,
        "outbound_bodies": 1,
        "status_callbacks": 1,
        "expired_codes": 1,
        "outbox_entries": 1,
    }
    session.expire_all()
    assert old.body_enc is None and old.reply_enc is None and old.message_sid
    assert recent.body_enc is not None
    assert session.get(OutboundMessage, sent.id).body_enc is None
    assert session.get(OutboundMessage, waiting.id).body_enc is not None, "not yet sent: kept"
    assert session.scalars(select(StatusEvent.message_sid)).all() == ["SM" + "2" * 32]
    assert session.get(OutboundMessage, sent.id).status == "delivered", "the text keeps its status"
    assert (stale.code, live.code, just_expired.code) == (None, "1234", "5555")
    assert session.scalar(select(OutboxEntry.handed_at)) is None, "unhanded work is never purged"
    assert retention.purge(session, now, retention_days=30) == dict.fromkeys(counts, 0)
