"""ABORT and STATUS: stopping a broadcast in flight and reporting how far it got."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from service.domain.broadcasts import claims
from service.domain.broadcasts.errors import Refused
from service.models import OutboundMessage
from service.models.broadcasts import IN_FLIGHT, Broadcast, Rsvp


@dataclass(frozen=True)
class Report:
    broadcast: Broadcast
    counts: dict[str, int]
    rsvps: int | None  # for a meeting notice

    def count(self, *statuses: str) -> int:
        return sum(self.counts.get(status, 0) for status in statuses)

    @property
    def sent(self) -> int:
        """Handed to the provider (whatever the carrier made of it since)."""
        return self.count("sent", "delivered", "undelivered")


def abort(session: Session, now: datetime, broadcast_id: int | None = None) -> Report:
    """Stop the given (or the latest) broadcast in flight: nothing more goes out.

    The workers see the state within a fraction of a second; texts still queued are
    marked skipped here, in the same transaction, so none can be claimed after it.
    """
    query = select(Broadcast.id).where(Broadcast.state.in_(IN_FLIGHT))
    if broadcast_id is not None:
        query = query.where(Broadcast.id == broadcast_id)
    target = session.scalar(query.order_by(Broadcast.id.desc()).limit(1))
    if target is None:
        if broadcast_id is not None:
            raise Refused(
                "abort_unknown", f"no broadcast #{broadcast_id} in flight", id=broadcast_id
            )
        raise Refused("abort_none", "no broadcast in flight")
    session.execute(
        update(Broadcast)
        .where(Broadcast.id == target, Broadcast.state.in_(IN_FLIGHT))
        .values(state="aborted", aborted_at=now, updated_at=now, lease_token=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.broadcast_id == target, OutboundMessage.status == "queued")
        .values(status="skipped", updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    return report(session, target)


def latest(session: Session) -> Report | None:
    """The most recent broadcast that was confirmed (previews do not count)."""
    target = session.scalar(
        select(Broadcast.id)
        .where(Broadcast.state.not_in(("preview", "cancelled")))
        .order_by(Broadcast.id.desc())
        .limit(1)
    )
    return None if target is None else report(session, target)


def report(session: Session, broadcast_id: int) -> Report:
    broadcast = session.get(Broadcast, broadcast_id)
    assert broadcast is not None
    rsvps = None
    if broadcast.kind == "meet":
        rsvps = session.scalar(
            select(func.count()).select_from(Rsvp).where(Rsvp.broadcast_id == broadcast_id)
        )
    return Report(broadcast, claims.counts(session, broadcast_id), rsvps)
