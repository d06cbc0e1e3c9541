"""REPORT from anyone: an unverified alert that pages the on-call dispatchers."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.database import take_turns
from service.models import Alert

# One report per number per window: enough for a real incident (details can
# follow in the same text), too little to page dispatchers in a loop.
REPORT_EVERY = timedelta(minutes=5)


def wait_before_next(session: Session, phone_hash: str, now: datetime) -> int:
    """Whole minutes this number must wait before another REPORT (0: it may report now).

    Until the transaction ends, another REPORT from this number waits here: two texts
    from one number at the same instant must not both find no recent report."""
    take_turns(session, f"report:{phone_hash}")
    last = session.scalar(
        select(Alert.created_at)
        .where(Alert.reporter_hash == phone_hash, Alert.created_at > now - REPORT_EVERY)
        .order_by(Alert.created_at.desc())
        .limit(1)
    )
    if last is None:
        return 0
    return max(1, math.ceil((last + REPORT_EVERY - now).total_seconds() / 60))
