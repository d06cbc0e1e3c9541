"""RSVP: a supporter answers the latest meeting notice they were sent; counted once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.models import OutboundMessage
from service.models.broadcasts import Broadcast, Rsvp

# How many recent meetings to look through for the one this person was told about.
RECENT_MEETINGS = 20
TOLD = ("sent", "delivered", "unknown")


def latest_meeting(session: Session, subscriber_id: int) -> int | None:
    """The newest meeting notice this subscriber was sent.

    Walks recent meetings newest first and probes the ledger's unique
    (broadcast_id, subscriber_id) index, instead of scanning the ledger by subscriber.
    """
    meetings = session.scalars(
        select(Broadcast.id)
        .where(Broadcast.kind == "meet", Broadcast.state.in_(("sending", "done", "aborted")))
        .order_by(Broadcast.id.desc())
        .limit(RECENT_MEETINGS)
    )
    for broadcast_id in meetings:
        told = session.scalar(
            select(OutboundMessage.id).where(
                OutboundMessage.broadcast_id == broadcast_id,
                OutboundMessage.subscriber_id == subscriber_id,
                OutboundMessage.status.in_(TOLD),
            )
        )
        if told:
            return broadcast_id
    return None


def record(session: Session, subscriber_id: int, now: datetime) -> str:
    """'counted', 'again' or 'nothing' (no meeting to answer)."""
    meeting = latest_meeting(session, subscriber_id)
    if meeting is None:
        return "nothing"
    try:
        with session.begin_nested():
            session.add(Rsvp(broadcast_id=meeting, subscriber_id=subscriber_id, at=now))
    except IntegrityError:
        return "again"
    return "counted"
