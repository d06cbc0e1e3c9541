"""Retention: what we no longer need, we no longer keep.

Inbound bodies (and our replies) go after RETENTION_DAYS; the row stays, without
them, so a late Twilio retry is still recognised. Texts we sent lose their bodies
once settled and as old, and their status callbacks go (two or three a text:
kept forever they would outgrow the ledger; a late retry of one finds its text
settled and moves nothing). One-time confirmation codes go an hour after they
expire, and handed-over outbox entries after a day.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from service.models import InboundMessage, OutboundMessage, OutboxEntry, StatusEvent
from service.models.broadcasts import Broadcast
from service.models.messages import FINAL_STATES

OUTBOX_KEPT = timedelta(days=1)
# An expired code is kept a little while so SEND can still say "expired", not "unknown".
EXPIRED_CODE_KEPT = timedelta(hours=1)


def purge(session: Session, now: datetime, retention_days: int) -> dict[str, int]:
    cutoff = now - timedelta(days=retention_days)
    inbound = session.execute(
        update(InboundMessage)
        .where(InboundMessage.received_at < cutoff, InboundMessage.body_enc.is_not(None))
        .values(body_enc=None, reply_enc=None)
    ).rowcount
    replies = session.execute(
        update(InboundMessage)
        .where(InboundMessage.received_at < cutoff, InboundMessage.reply_enc.is_not(None))
        .values(reply_enc=None)
    ).rowcount
    outbound = session.execute(
        update(OutboundMessage)
        .where(
            OutboundMessage.updated_at < cutoff,
            OutboundMessage.status.in_(FINAL_STATES | {"sent"}),
            OutboundMessage.body_enc.is_not(None),
        )
        .values(body_enc=None)
    ).rowcount
    callbacks = session.execute(
        delete(StatusEvent).where(StatusEvent.received_at < cutoff)
    ).rowcount
    codes = session.execute(
        update(Broadcast)
        .where(Broadcast.code.is_not(None), Broadcast.code_expires_at < now - EXPIRED_CODE_KEPT)
        .values(code=None)
    ).rowcount
    outbox = session.execute(
        delete(OutboxEntry).where(OutboxEntry.handed_at < now - OUTBOX_KEPT)
    ).rowcount
    return {
        "inbound_bodies": inbound + replies,
        "outbound_bodies": outbound,
        "status_callbacks": callbacks,
        "expired_codes": codes,
        "outbox_entries": outbox,
    }
