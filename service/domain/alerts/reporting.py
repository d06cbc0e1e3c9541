"""REPORT from anyone: an unverified alert that pages the on-call dispatchers."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.models import Alert, AlertText, OutboundMessage

# One report per number per window: enough for a real incident (details can
# follow in the same text), too little to page dispatchers in a loop.
REPORT_EVERY = timedelta(minutes=5)


def wait_before_next(session: Session, phone_hash: str, now: datetime) -> int:
    """Whole minutes this number must wait before another REPORT (0: it may report now)."""
    last = session.scalar(
        select(Alert.created_at)
        .where(Alert.reporter_hash == phone_hash, Alert.created_at > now - REPORT_EVERY)
        .order_by(Alert.created_at.desc())
        .limit(1)
    )
    if last is None:
        return 0
    return max(1, math.ceil((last + REPORT_EVERY - now).total_seconds() / 60))


def forget_reporter(session: Session, phone_hash: str) -> None:
    """FORGET from someone who reported: their number and language leave their reports,
    and the texts written to them lose number and body (one still queued is then
    skipped). The reports stay, since responders may be acting on them, and so does
    the keyed hash, which keeps the per-number limit."""
    reports = select(Alert.id).where(Alert.reporter_hash == phone_hash)
    told = select(AlertText.message_id).where(
        AlertText.alert_id.in_(reports), AlertText.kind == "notice"
    )
    session.execute(
        update(OutboundMessage)
        .where(
            OutboundMessage.id.in_(told),
            OutboundMessage.person_id.is_(None),
            OutboundMessage.subscriber_id.is_(None),
        )
        .values(to_enc=None, body_enc=None)
    )
    session.execute(
        update(Alert)
        .where(Alert.reporter_hash == phone_hash)
        .values(reporter_enc=None, reporter_language=None)
    )
