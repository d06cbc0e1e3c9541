"""Claiming a chunk's texts and recording their outcomes, a small group at a time.

Texts are claimed in one UPDATE ... RETURNING (the rows must still be queued, the
broadcast still sending and the chunk still ours); the same statement checks each
recipient's opt-out status and marks the ones gone since planning skipped. The
outcomes of a group are recorded together afterwards. On PostgreSQL a group all
sent is recorded in the statement that claims the next group (record_and_claim).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    LargeBinary,
    String,
    bindparam,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Update

from service.domain import delivery
from service.domain.broadcasts.chunks import ChunkLease
from service.domain.supporters import mark_unreachable
from service.gateway.base import NUMBER_IS_DEAD, SendError
from service.models import OutboundMessage, StatusEvent, Subscriber
from service.models.broadcasts import Broadcast, BroadcastChunk
from service.vault import Vault

MAX_ATTEMPTS = 8  # of a text hitting 429/5xx before it is marked failed

_LEDGER = OutboundMessage.__table__
_PEOPLE = Subscriber.__table__
_BROADCASTS = Broadcast.__table__
_CHUNKS = BroadcastChunk.__table__
_EVENTS = StatusEvent.__table__


@dataclass(frozen=True)
class Claimed:
    message_id: int
    subscriber_id: int
    attempts: int
    to: str
    language: str


@dataclass(frozen=True)
class ClaimedBatch:
    ready: list[Claimed]
    skipped_ids: list[int]  # opted out (or erased) since planning: never sent

    @property
    def skipped(self) -> int:
        return len(self.skipped_ids)

    def __bool__(self) -> bool:
        return bool(self.ready or self.skipped)


def _recipient(column: Any) -> Any:
    return select(column).where(_PEOPLE.c.id == _LEDGER.c.subscriber_id).scalar_subquery()


def _claim_statement(excluding: bool) -> Update:
    """Claim the chunk's next queued texts, returning each recipient's number and
    language with the claim; a recipient who opted out (or was erased) since planning
    is marked skipped instead, and comes back with that status. Built once (with and
    without an exclusion list): it runs for every few texts, and building it is a
    good part of its cost."""
    ledger = _LEDGER.c
    candidates = select(ledger.id).where(
        ledger.broadcast_id == bindparam("claim_broadcast_id"),
        ledger.subscriber_id > bindparam("claim_after_id"),
        ledger.subscriber_id <= bindparam("claim_through_id"),
        ledger.status == "queued",
    )
    if excluding:
        candidates = candidates.where(ledger.id.not_in(bindparam("claim_exclude", expanding=True)))
    candidates = candidates.order_by(ledger.subscriber_id).limit(bindparam("claim_limit"))
    still_sending = exists().where(
        _BROADCASTS.c.id == bindparam("claim_broadcast_id"), _BROADCASTS.c.state == "sending"
    )
    still_ours = exists().where(
        _CHUNKS.c.id == bindparam("claim_chunk_id"),
        _CHUNKS.c.lease_token == bindparam("claim_token"),
    )
    reachable = (_recipient(_PEOPLE.c.status) == "active") & _recipient(_PEOPLE.c.phone_enc).is_not(
        None
    )
    return (
        update(_LEDGER)
        .where(
            ledger.id.in_(candidates.scalar_subquery()),
            ledger.status == "queued",
            still_sending,
            still_ours,
        )
        .values(
            status=case((reachable, "claimed"), else_="skipped"),
            claimed_at=bindparam("claim_now"),
            attempts=ledger.attempts + 1,
            updated_at=bindparam("claim_now"),
        )
        .returning(
            ledger.id,
            ledger.subscriber_id,
            ledger.attempts,
            ledger.status,
            _recipient(_PEOPLE.c.phone_enc).label("phone_enc"),
            _recipient(_PEOPLE.c.language).label("language"),
        )
    )


_CLAIM = _claim_statement(excluding=False)
_CLAIM_EXCLUDING = _claim_statement(excluding=True)


def claim_batch(
    session: Session,
    vault: Vault,
    lease: ChunkLease,
    limit: int,
    now: datetime,
    exclude: list[int] | None = None,
) -> ClaimedBatch:
    """Claim up to `limit` queued texts of the chunk in one statement."""
    # Core statements on the session's connection: the ORM's bulk-update machinery
    # costs more CPU than the round trip, and this runs for every few texts.
    statement = _CLAIM_EXCLUDING if exclude else _CLAIM
    rows = session.connection().execute(statement, _claim_parameters(lease, limit, now, exclude))
    return _claimed(vault, rows)


def _claim_parameters(
    lease: ChunkLease, limit: int, now: datetime, exclude: list[int] | None
) -> dict[str, Any]:
    parameters: dict[str, Any] = {
        "claim_broadcast_id": lease.broadcast_id,
        "claim_after_id": lease.after_id,
        "claim_through_id": lease.through_id,
        "claim_chunk_id": lease.chunk_id,
        "claim_token": lease.token,
        "claim_limit": limit,
        "claim_now": now,
    }
    if exclude:
        parameters["claim_exclude"] = exclude
    return parameters


def _claimed(vault: Vault, rows: Any) -> ClaimedBatch:
    ready: list[Claimed] = []
    skipped: list[int] = []
    for message_id, subscriber_id, attempts, status, phone_enc, language in rows:
        if status == "skipped":
            skipped.append(message_id)
            continue
        ready.append(
            Claimed(message_id, subscriber_id, attempts, vault.decrypt(phone_enc), language or "en")
        )
    return ClaimedBatch(ready, skipped)


@dataclass(frozen=True)
class Outcome:
    text: Claimed
    provider_sid: str | None = None
    error: SendError | None = None
    skipped: str | None = None  # "aborted" | "opted out" | "released" (lease lost, paused)


def record_batch(
    session: Session, outcomes: list[Outcome], now: datetime, late_after: datetime | None = None
) -> list[tuple[int, float]]:
    """Record a group's outcomes together. Returns (message id, backoff seconds) to retry.

    A text turned away untried (Redis down) gives its attempt back, so an outage of any
    length fails no text, until `late_after` (its broadcast's start plus its validity
    period): from then on its tries count, and it fails rather than arrive hours late."""
    sent = {o.text.message_id: o.provider_sid for o in outcomes if o.provider_sid}
    if sent:
        called_back = _record_sent(session, sent, now)
        apply_early_callbacks(session, called_back, now)
    skipped = [o.text.message_id for o in outcomes if o.skipped and o.skipped != "released"]
    if skipped:
        _set_status(session, skipped, "skipped", now)
    released = [o.text.message_id for o in outcomes if o.skipped == "released"]
    if released:
        _set_status(session, released, "queued", now)
    retries: list[tuple[int, float]] = []
    in_time = late_after is None or now < late_after
    for outcome in outcomes:
        if outcome.error is not None:
            status = _record_error(session, outcome.text, outcome.error, now, in_time)
            if status == "queued":
                retries.append(
                    (outcome.text.message_id, backoff(outcome.text.attempts, outcome.error))
                )
    return retries


# A dead-worker takeover may have reported a text unknown meanwhile: we know better.
_SENDABLE = or_(_LEDGER.c.status == "claimed", _LEDGER.c.status == "unknown")
# Status callbacks that beat the record (the provider is fast) come back with it.
_CALLED_BACK = exists().where(_EVENTS.c.message_sid == _LEDGER.c.provider_sid)
# On PostgreSQL the group's ids and sids travel as two arrays: one statement of a fixed
# shape, compiled once, whatever the group's size.
_SENT_ROWS = (
    func.unnest(bindparam("ids", type_=ARRAY(Integer)), bindparam("sids", type_=ARRAY(String)))
    .table_valued("id", "sid")
    .render_derived()
)
_RECORD_SENT_PG = (
    update(_LEDGER)
    .where(_LEDGER.c.id == _SENT_ROWS.c.id, _SENDABLE)
    .values(
        status="sent",
        provider_sid=_SENT_ROWS.c.sid,
        sent_at=bindparam("now"),
        updated_at=bindparam("now"),
    )
    .returning(_LEDGER.c.provider_sid, _CALLED_BACK.label("called_back"))
)


def record_and_claim(
    connection: Connection,
    vault: Vault,
    sent: dict[int, str],
    lease: ChunkLease,
    limit: int,
    now: datetime,
    exclude: list[int] | None = None,
) -> tuple[ClaimedBatch, list[str]]:
    """PostgreSQL: record a group sent (message id -> provider sid) and claim up to
    `limit` more, in one statement. Returns the claimed batch and the sids whose
    status callbacks arrived first (for apply_early_callbacks).

    On a connection in autocommit the statement is its own transaction: one round
    trip where BEGIN, record, claim and COMMIT took four, and the sender waits on
    that round trip between groups. The two parts touch different rows (claimed or
    unknown ones, queued ones), so neither sees the other's writes.
    """
    statement = _RECORD_AND_CLAIM_EXCLUDING if exclude else _RECORD_AND_CLAIM
    parameters = {
        "ids": list(sent),
        "sids": list(sent.values()),
        "now": now,
        **_claim_parameters(lease, limit, now, exclude),
    }
    claimed_rows: list[Any] = []
    called_back: list[str] = []
    for *row, provider_sid in connection.execute(statement, parameters):
        if provider_sid is None:
            claimed_rows.append(row)
        else:
            called_back.append(provider_sid)
    return _claimed(vault, claimed_rows), called_back


def _record_and_claim_statement(claim: Update) -> Any:
    """The claim's rows, then the sids called back among the rows recorded (the claim's
    columns NULL there): one result for the two data-modifying parts."""
    recorded = _RECORD_SENT_PG.cte("recorded")
    claimed = claim.cte("claimed")
    return select(*claimed.c, literal(None, String).label("provider_sid")).union_all(
        select(
            literal(None, Integer),
            literal(None, Integer),
            literal(None, Integer),
            literal(None, String),
            literal(None, LargeBinary),
            literal(None, String),
            recorded.c.provider_sid,
        ).where(recorded.c.called_back)
    )


_RECORD_AND_CLAIM = _record_and_claim_statement(_CLAIM)
_RECORD_AND_CLAIM_EXCLUDING = _record_and_claim_statement(_CLAIM_EXCLUDING)


def _record_sent(session: Session, sids: dict[int, str | None], now: datetime) -> list[str]:
    """Mark a group sent, each row with its sid, in one statement; return the sids whose
    status callbacks arrived first."""
    if session.get_bind().dialect.name == "postgresql":
        statement: Update = _RECORD_SENT_PG
        parameters = {"ids": list(sids), "sids": list(sids.values()), "now": now}
    else:
        # Elsewhere a CASE picks each row's sid.
        statement, parameters = _record_sent_case(sids, now), {}
    rows = session.connection().execute(statement, parameters)
    return [sid for sid, early in rows if early]


def _record_sent_case(sids: dict[int, str | None], now: datetime) -> Update:
    return (
        update(_LEDGER)
        .where(_LEDGER.c.id.in_(list(sids)), _SENDABLE)
        .values(
            status="sent",
            provider_sid=case(sids, value=_LEDGER.c.id),
            sent_at=now,
            updated_at=now,
        )
        .returning(_LEDGER.c.provider_sid, _CALLED_BACK)
    )


def backoff(attempts: int, error: SendError) -> float:
    """Exponential with jitter, or what the provider asked for."""
    if error.retry_after:
        return min(error.retry_after, 60.0)
    return min(30.0, 0.25 * 2 ** max(attempts - 1, 0)) * random.uniform(0.8, 1.2)


def _record_error(
    session: Session, text: Claimed, error: SendError, now: datetime, in_time: bool
) -> str:
    give_back = error.untried and in_time
    if error.ambiguous:
        status = "unknown"
    elif give_back or (error.retryable and text.attempts < MAX_ATTEMPTS):
        status = "queued"
    else:
        status = "failed"
    moved = (
        session.connection()
        .execute(
            update(_LEDGER)
            .where(_LEDGER.c.id == text.message_id, _LEDGER.c.status == "claimed")
            .values(
                status=status,
                error_code=error.code,
                updated_at=now,
                # The claim counted an attempt the provider never saw.
                attempts=_LEDGER.c.attempts - (1 if give_back else 0),
            )
        )
        .rowcount
    )
    if moved and status == "failed" and error.code in NUMBER_IS_DEAD:
        subscriber = session.get(Subscriber, text.subscriber_id)
        if subscriber is not None:
            mark_unreachable(subscriber, error.code, now)
    return status if moved else "lost"


def _set_status(session: Session, message_ids: list[int], status: str, now: datetime) -> None:
    session.connection().execute(
        update(_LEDGER)
        .where(_LEDGER.c.id.in_(message_ids), _LEDGER.c.status == "claimed")
        .values(status=status, updated_at=now)
    )


def apply_early_callbacks(session: Session, provider_sids: list[str], now: datetime) -> None:
    """Status callbacks that beat the group's record apply now."""
    for provider_sid in provider_sids:
        message = session.scalar(
            select(OutboundMessage).where(OutboundMessage.provider_sid == provider_sid)
        )
        if message is not None:
            delivery.apply_early_callbacks(session, message, now)


def counts(session: Session, broadcast_id: int) -> dict[str, int]:
    rows = session.execute(
        select(OutboundMessage.status, func.count())
        .where(OutboundMessage.broadcast_id == broadcast_id)
        .group_by(OutboundMessage.status)
    )
    return {status: count for status, count in rows}
