"""Status callbacks: what happened to a text after the provider took it.

Callbacks arrive out of order and may repeat, and may even arrive before the
worker recorded the provider's message id. Each (MessageSid, status) is kept
once; the ledger only ever moves forward.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.database import insert_or_ignore
from service.domain.supporters import mark_unreachable
from service.gateway.base import NUMBER_IS_DEAD
from service.models import OutboundMessage, StatusEvent, Subscriber

# Provider status -> ledger status.
LEDGER_STATUS = {
    "accepted": "sent",
    "scheduled": "sent",
    "queued": "sent",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "failed",
}
RANK = {
    "queued": 0,
    "claimed": 1,
    "unknown": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "skipped": 4,
}

# Called with (session, message, now) after a message's ledger status moved.
# The alert engine listens, to skip a responder whose page did not arrive.
StatusListener = Callable[[Session, OutboundMessage, datetime], None]
LISTENERS: list[StatusListener] = []


def record(
    session: Session, message_sid: str, status: str, error_code: int | None, now: datetime
) -> bool:
    """Record one callback; False if this (MessageSid, status) was seen before."""
    # One statement, no savepoint: a broadcast brings two callbacks a text.
    inserted = session.scalar(
        insert_or_ignore(session, StatusEvent, "message_sid", "status")
        .values(message_sid=message_sid, status=status, error_code=error_code, received_at=now)
        .returning(StatusEvent.id)
    )
    if inserted is None:
        return False
    message = session.scalar(
        select(OutboundMessage).where(OutboundMessage.provider_sid == message_sid)
    )
    if message is not None:
        apply(session, message, status, error_code, now)
    return True


def apply(
    session: Session,
    message: OutboundMessage,
    status: str,
    error_code: int | None,
    now: datetime,
) -> None:
    """Move the ledger forward (never back) and act on permanent errors."""
    ledger_status = LEDGER_STATUS.get(status)
    if ledger_status is None or RANK[ledger_status] <= RANK.get(message.status, 0):
        return
    message.status = ledger_status
    message.updated_at = now
    if error_code:
        message.error_code = error_code
        if error_code in NUMBER_IS_DEAD and message.subscriber_id:
            subscriber = session.get(Subscriber, message.subscriber_id)
            if subscriber is not None:
                mark_unreachable(subscriber, error_code, now)
    for listener in LISTENERS:
        listener(session, message, now)


def apply_early_callbacks(session: Session, message: OutboundMessage, now: datetime) -> None:
    """Apply callbacks that arrived before the provider's id was recorded."""
    if not message.provider_sid:
        return
    events = session.scalars(
        select(StatusEvent).where(StatusEvent.message_sid == message.provider_sid)
    )
    for event in events:
        apply(session, message, event.status, event.error_code, now)
