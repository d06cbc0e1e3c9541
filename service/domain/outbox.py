"""Follow-up work, kept durably until RQ has it.

Effects are written to the outbox in the transaction that caused them, so an
accepted text's consequences survive a Redis outage. Right after the commit the
web process hands them to RQ; whatever it could not hand over, the clock's sweep
does once Redis is back. Each entry is handed over once (a conditional update
claims it), and the jobs themselves are safe to run twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.domain.context import Effect
from service.models import OutboxEntry

# Entries younger than this are still being handed over by the web process.
GRACE = timedelta(seconds=5)


def defer(session: Session, effects: Iterable[Effect], now: datetime) -> list[int]:
    entries = [
        OutboxEntry(
            queue=e.queue, function=e.function, args=list(e.args), job_id=e.job_id, created_at=now
        )
        for e in effects
    ]
    if not entries:
        return []
    session.add_all(entries)
    session.flush()
    return [entry.id for entry in entries]


def hand_over(
    session: Session, entry_ids: list[int], enqueue: Callable[[Effect], bool], now: datetime
) -> int:
    """Enqueue the given entries that nobody handed over yet; return how many went."""
    handed = 0
    for entry_id in entry_ids:
        claimed = session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id == entry_id, OutboxEntry.handed_at.is_(None))
            .values(handed_at=now)
        ).rowcount
        if not claimed:
            continue
        entry = session.get(OutboxEntry, entry_id)
        assert entry is not None
        effect = Effect(
            entry.queue,
            entry.function,
            tuple(entry.args),
            job_id=entry.job_id or f"outbox-{entry.id}",
        )
        if not enqueue(effect):
            # Redis is down: give the claim back and stop trying for now.
            entry.handed_at = None
            session.flush()
            break
        session.commit()
        handed += 1
    return handed


def waiting(session: Session, now: datetime, limit: int = 500) -> list[int]:
    return list(
        session.scalars(
            select(OutboxEntry.id)
            .where(OutboxEntry.handed_at.is_(None), OutboxEntry.created_at < now - GRACE)
            .order_by(OutboxEntry.id)
            .limit(limit)
        )
    )
