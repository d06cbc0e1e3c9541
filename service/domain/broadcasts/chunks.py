"""Chunk leases, and what the clock re-drives.

A chunk is one send job's share of a broadcast, a range of subscriber ids. Its job
holds a lease on it (renewed while it runs); the clock sweep hands a chunk whose
lease lapsed to a new job, which first reports the rows the dead job had claimed
as "unknown": they may or may not have gone out, so they are neither resent nor
dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, exists, or_, select, update
from sqlalchemy.orm import Session

from service.models import OutboundMessage
from service.models.broadcasts import Broadcast, BroadcastChunk

log = logging.getLogger(__name__)

CHUNK_LEASE = timedelta(seconds=15)  # renewed every few seconds by the running job
# A chunk nobody has leased this long after it was planned lost its RQ job, unless
# the job is still waiting in the queue (the sweep asks RQ before re-enqueueing).
UNLEASED_GRACE = timedelta(seconds=20)


@dataclass(frozen=True)
class ChunkLease:
    chunk_id: int
    broadcast_id: int
    after_id: int
    through_id: int
    token: str
    abandoned: int  # rows a dead predecessor had claimed, now reported unknown
    attempt: int = 0  # the clock's re-enqueues of the chunk (its job's id carries it)


# Matches no row: ids start at 1.
NOWHERE = ChunkLease(chunk_id=0, broadcast_id=0, after_id=0, through_id=0, token="", abandoned=0)


# Core statements on the tables, not the ORM's bulk updates: a chunk job runs these for
# every chunk of 250 texts, and the ORM's machinery cost more CPU than the round trips.
_CHUNKS = BroadcastChunk.__table__
_LEDGER = OutboundMessage.__table__
_BROADCASTS = Broadcast.__table__
_LEASED = (_CHUNKS.c.broadcast_id, _CHUNKS.c.after_id, _CHUNKS.c.through_id, _CHUNKS.c.attempt)


def take_chunk(session: Session, chunk_id: int, token: str, now: datetime) -> ChunkLease | None:
    """Lease a pending chunk nobody holds (or whose holder stopped renewing)."""
    row = (
        session.connection()
        .execute(
            update(_CHUNKS)
            .where(
                _CHUNKS.c.id == chunk_id,
                _CHUNKS.c.state == "pending",
                or_(
                    _CHUNKS.c.lease_token.is_(None),
                    _CHUNKS.c.lease_until < now,
                    _CHUNKS.c.lease_token == token,
                ),
            )
            .values(lease_token=token, lease_until=now + CHUNK_LEASE)
            .returning(*_LEASED)
        )
        .first()
    )
    if row is None:
        return None
    broadcast_id, after_id, through_id, attempt = row
    # Only a chunk's lease holder claims its rows, and we have not claimed any yet: a
    # claimed row here belongs to a holder that died between claim and record.
    abandoned = (
        session.connection()
        .execute(
            update(_LEDGER)
            .where(*_in_chunk(broadcast_id, after_id, through_id), _LEDGER.c.status == "claimed")
            .values(status="unknown", updated_at=now)
        )
        .rowcount
    )
    if abandoned:
        log.warning(
            "broadcast %s chunk %s: %d texts of a dead worker reported unknown",
            broadcast_id,
            chunk_id,
            abandoned,
        )
    return ChunkLease(chunk_id, broadcast_id, after_id, through_id, token, abandoned, attempt)


def take_next_chunk(
    session: Session, broadcast_id: int, token: str, now: datetime
) -> ChunkLease | None:
    """Lease the broadcast's first chunk that no job has leased yet, in one statement, for
    a job that has claimed all of its own (see Sender._chain); None when there is none.
    Never leased, it holds no claimed rows to report unknown. Two jobs asking at once
    take different chunks: each passes over the row the other has locked."""
    free = (
        select(_CHUNKS.c.id)
        .where(
            _CHUNKS.c.broadcast_id == broadcast_id,
            _CHUNKS.c.state == "pending",
            _CHUNKS.c.lease_token.is_(None),
        )
        .order_by(_CHUNKS.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    row = (
        session.connection()
        .execute(
            update(_CHUNKS)
            .where(_CHUNKS.c.id == free, _CHUNKS.c.lease_token.is_(None))
            .values(lease_token=token, lease_until=now + CHUNK_LEASE)
            .returning(_CHUNKS.c.id, *_LEASED)
        )
        .first()
    )
    if row is None:
        return None
    chunk_id, broadcast_id, after_id, through_id, attempt = row
    return ChunkLease(chunk_id, broadcast_id, after_id, through_id, token, 0, attempt)


def renew_chunk(connection: Connection, lease: ChunkLease, now: datetime) -> bool:
    return bool(
        connection.execute(
            update(_CHUNKS)
            .where(
                _CHUNKS.c.id == lease.chunk_id,
                _CHUNKS.c.lease_token == lease.token,
                _CHUNKS.c.state == "pending",
            )
            .values(lease_until=now + CHUNK_LEASE)
        ).rowcount
    )


def finish_chunk(session: Session, lease: ChunkLease, now: datetime) -> bool:
    """Mark the chunk done if nothing in it is queued any more; then maybe the broadcast."""
    queued = exists().where(
        *_in_chunk(lease.broadcast_id, lease.after_id, lease.through_id),
        _LEDGER.c.status == "queued",
    )
    done = (
        session.connection()
        .execute(
            update(_CHUNKS)
            .where(_CHUNKS.c.id == lease.chunk_id, _CHUNKS.c.lease_token == lease.token, ~queued)
            .values(state="done", finished_at=now, lease_token=None, lease_until=None)
        )
        .rowcount
    )
    if done:
        finish_broadcast(session, lease.broadcast_id, now)
    return bool(done)


def finish_broadcast(session: Session, broadcast_id: int, now: datetime) -> bool:
    """sending -> done once planning is complete and every chunk is done."""
    pending = exists().where(_CHUNKS.c.broadcast_id == broadcast_id, _CHUNKS.c.state == "pending")
    return bool(
        session.connection()
        .execute(
            update(_BROADCASTS)
            .where(
                _BROADCASTS.c.id == broadcast_id,
                _BROADCASTS.c.state == "sending",
                _BROADCASTS.c.planning_done.is_(True),
                ~pending,
            )
            .values(state="done", finished_at=now, updated_at=now)
        )
        .rowcount
    )


def _in_chunk(broadcast_id: int, after_id: int, through_id: int) -> tuple:  # type: ignore[type-arg]
    return (
        _LEDGER.c.broadcast_id == broadcast_id,
        _LEDGER.c.subscriber_id > after_id,
        _LEDGER.c.subscriber_id <= through_id,
    )


# --- what the clock re-drives --------------------------------------------------------------


@dataclass(frozen=True)
class Stalled:
    broadcasts: list[int]  # due to start, or planning whose lease lapsed
    chunks: list[tuple[int, int, int]]  # (chunk id, broadcast id, attempt): lease lapsed


def stalled(session: Session, now: datetime, limit: int = 500) -> Stalled:
    """What a lost or dead RQ job left behind; safe to call from two clocks at once."""
    broadcasts = list(
        session.scalars(
            select(Broadcast.id)
            .where(
                or_(
                    (Broadcast.state == "scheduled") & (Broadcast.send_at <= now),
                    (Broadcast.state == "sending")
                    & Broadcast.planning_done.is_(False)
                    & or_(Broadcast.lease_until.is_(None), Broadcast.lease_until < now),
                )
            )
            .order_by(Broadcast.id)
            .limit(limit)
        )
    )
    chunks = [
        (chunk_id, broadcast_id, attempt)
        for chunk_id, broadcast_id, attempt in session.execute(
            select(BroadcastChunk.id, BroadcastChunk.broadcast_id, BroadcastChunk.attempt)
            .where(
                BroadcastChunk.state == "pending",
                or_(
                    BroadcastChunk.lease_until < now,
                    BroadcastChunk.lease_until.is_(None)
                    & (BroadcastChunk.created_at < now - UNLEASED_GRACE),
                ),
                # Paused for quiet hours: its chunks wait for it to start again.
                ~exists().where(
                    Broadcast.id == BroadcastChunk.broadcast_id, Broadcast.state == "scheduled"
                ),
            )
            .order_by(BroadcastChunk.id)
            .limit(limit)
        )
    ]
    return Stalled(broadcasts, chunks)


def finish_stalled(session: Session, now: datetime) -> int:
    """Broadcasts whose last chunk finished but whose job died before saying so: done."""
    pending = exists().where(
        BroadcastChunk.broadcast_id == Broadcast.id, BroadcastChunk.state == "pending"
    )
    return session.execute(
        update(Broadcast)
        .where(Broadcast.state == "sending", Broadcast.planning_done.is_(True), ~pending)
        .values(state="done", finished_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount


def bump_attempt(session: Session, chunk_id: int, attempt: int) -> bool:
    """Take the right to re-enqueue a chunk (two clocks: one wins)."""
    return bool(
        session.execute(
            update(BroadcastChunk)
            .where(BroadcastChunk.id == chunk_id, BroadcastChunk.attempt == attempt)
            .values(attempt=attempt + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
    )
