"""Starting a broadcast and planning its audience into the send ledger.

Planning walks the audience with a keyset cursor and writes, per transaction, up
to PLAN_BATCH ledger rows (INSERT ... SELECT, one row per (broadcast, subscriber),
unique), the chunks covering them and the advanced cursor, so a crash at any
point resumes where the last commit left off and never queues anyone twice. A
chunk is one send job's share, a range of subscriber ids (see chunks).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import literal, or_, select, update
from sqlalchemy.orm import Session

from service.database import insert_or_ignore
from service.domain.broadcasts import audience
from service.models import OutboundMessage, Subscriber
from service.models.base import UTCDateTime
from service.models.broadcasts import Broadcast, BroadcastChunk

PLAN_BATCH = 2000  # ledger rows written per planning transaction
CHUNK_SIZE = 250  # recipients per send job
PLANNING_LEASE = timedelta(seconds=30)

_LEDGER = OutboundMessage.__table__


def start_if_due(session: Session, broadcast_id: int, now: datetime) -> Broadcast | None:
    """scheduled -> sending once its time has come; the broadcast as it now stands."""
    session.execute(
        update(Broadcast)
        .where(
            Broadcast.id == broadcast_id,
            Broadcast.state == "scheduled",
            Broadcast.send_at <= now,
        )
        .values(state="sending", updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return session.get(Broadcast, broadcast_id)


@dataclass(frozen=True)
class PlanStep:
    chunk_ids: list[int]
    done: bool


def plan_batch(session: Session, broadcast_id: int, token: str, now: datetime) -> PlanStep | None:
    """Plan the next keyset page of the audience; None if planning is not ours to do."""
    row = session.execute(
        update(Broadcast)
        .where(
            Broadcast.id == broadcast_id,
            Broadcast.state == "sending",
            Broadcast.planning_done.is_(False),
            or_(
                Broadcast.lease_token == token,
                Broadcast.lease_until.is_(None),
                Broadcast.lease_until < now,
            ),
        )
        .values(lease_token=token, lease_until=now + PLANNING_LEASE, updated_at=now)
        .returning(Broadcast.planned_through, Broadcast.zone_id)
        .execution_options(synchronize_session=False)
    ).first()
    if row is None:
        return None
    cursor, zone_id = row
    # The first page is two chunks: both workers have a chunk to send while the rest is
    # planned, and the first text goes out a few hundred milliseconds sooner.
    size = min(PLAN_BATCH, 2 * CHUNK_SIZE) if cursor == 0 else PLAN_BATCH
    ids = audience.next_page(session, zone_id, cursor, size)
    chunk_ids: list[int] = []
    if ids:
        _insert_ledger_rows(session, broadcast_id, zone_id, cursor, ids[-1], now)
        bounds = [cursor, *ids[CHUNK_SIZE - 1 :: CHUNK_SIZE]]
        if bounds[-1] != ids[-1]:
            bounds.append(ids[-1])
        chunks = [
            BroadcastChunk(
                broadcast_id=broadcast_id,
                after_id=after,
                through_id=through,
                state="pending",
                attempt=0,
                created_at=now,
            )
            for after, through in zip(bounds, bounds[1:], strict=False)
        ]
        session.add_all(chunks)
        session.flush()
        chunk_ids = [chunk.id for chunk in chunks]
    done = len(ids) < size
    session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast_id)
        .values(
            planned_through=ids[-1] if ids else cursor,
            planning_done=done,
            lease_token=None if done else token,
            lease_until=None if done else now + PLANNING_LEASE,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return PlanStep(chunk_ids, done)


def _insert_ledger_rows(
    session: Session,
    broadcast_id: int,
    zone_id: int | None,
    after: int,
    through: int,
    now: datetime,
) -> None:
    """One INSERT ... SELECT: the rows never travel through Python."""
    stamp = literal(now, UTCDateTime())
    source = select(
        literal("broadcast"),
        literal(broadcast_id),
        Subscriber.id,
        literal("queued"),
        literal(0),
        stamp,
        stamp,
    ).where(*audience.eligible(zone_id), Subscriber.id > after, Subscriber.id <= through)
    statement = insert_or_ignore(session, _LEDGER, "broadcast_id", "subscriber_id").from_select(
        [
            "purpose",
            "broadcast_id",
            "subscriber_id",
            "status",
            "attempts",
            "created_at",
            "updated_at",
        ],
        source,
    )
    session.execute(statement)


def warm_up(session: Session, now: datetime) -> None:
    """Run planning's statements once against a broadcast that does not exist; the
    caller rolls back (see Sender.warm_up)."""
    start_if_due(session, 0, now)
    plan_batch(session, 0, "", now)
    audience.next_page(session, None, 0, 1)
    _insert_ledger_rows(session, 0, None, 0, 0, now)
