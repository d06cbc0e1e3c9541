"""Status callbacks: what happened to a text after the provider took it.

Callbacks arrive out of order and may repeat, and may even arrive before the
worker recorded the provider's message id. Each (MessageSid, status) is kept
once; the ledger only ever moves forward, even when two callbacks for one text
are handled at the same moment: the move is one conditional UPDATE, which the
database re-checks against the row as the other left it.

A callback that beats the record is applied by whoever records the id. Two
cases escape that: on PostgreSQL a callback handled while the record is still
uncommitted (each sees the other's table as it was before), and a worker killed
between recording and applying. The clock's catch_up pass applies such stored
callbacks a little later.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache

from sqlalchemy import Insert, Update, and_, bindparam, or_, select, update
from sqlalchemy.orm import Session

from service.database import insert_or_ignore_in
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

# For each ledger status, the statuses a message must not be in to move to it.
_AT_OR_AHEAD = {
    status: frozenset(other for other, rank in RANK.items() if rank >= RANK[status])
    for status in RANK
}

# Called with (session, message, now) after the ledger status of a message of the
# purpose it listens to moved. The alert engine listens to pages, to skip a responder
# whose page did not arrive.
StatusListener = Callable[[Session, OutboundMessage, datetime], None]
LISTENERS: dict[str, list[StatusListener]] = {}

_LEDGER = OutboundMessage.__table__


def listen(purpose: str, listener: StatusListener) -> None:
    """Call `listener` whenever a message of `purpose` moves (once, however often asked)."""
    listeners = LISTENERS.setdefault(purpose, [])
    if listener not in listeners:
        listeners.append(listener)


def record(
    session: Session, message_sid: str, status: str, error_code: int | None, now: datetime
) -> bool:
    """Record one callback; False if this (MessageSid, status) was seen before."""
    # A broadcast brings two or three callbacks a text, so this is the busiest webhook:
    # one statement keeps the callback once (no savepoint), one moves the ledger, both
    # built once, and nothing more is read unless a listener wants the row or the error
    # says the number is dead.
    event = dict(message_sid=message_sid, status=status, error_code=error_code, received_at=now)
    inserted = session.execute(_new_event(session.get_bind().dialect.name), event).scalar()
    if inserted is None:
        return False
    ledger_status = LEDGER_STATUS.get(status)
    if ledger_status is not None:
        _move_on(session, message_sid, ledger_status, error_code, now)
    return True


def _move_on(
    session: Session, message_sid: str, ledger_status: str, error_code: int | None, now: datetime
) -> int | None:
    """Move the text with this provider id to `ledger_status` unless it is there or
    further on, and act on the move; the id of the text moved, if one was."""
    moved = session.execute(
        _move(ledger_status, bool(error_code)),
        {"sid": message_sid, "to_status": ledger_status, "now": now, "code": error_code},
    ).first()
    if moved is None:
        return None
    _after_move(session, moved.id, moved.purpose, moved.subscriber_id, error_code, now)
    return int(moved.id)


@cache
def _new_event(dialect: str) -> Insert:
    events = StatusEvent.__table__
    return insert_or_ignore_in(dialect, events, "message_sid", "status").returning(events.c.id)


@cache
def _move(ledger_status: str, with_error_code: bool) -> Update:
    """Move a text to `ledger_status` unless it is there or further on already: one
    conditional UPDATE, which the database re-checks against a concurrent one's result."""
    values = {"status": bindparam("to_status"), "updated_at": bindparam("now")}
    if with_error_code:
        values["error_code"] = bindparam("code")
    return (
        update(_LEDGER)
        .where(
            _LEDGER.c.provider_sid == bindparam("sid"),
            _LEDGER.c.status.not_in(_AT_OR_AHEAD[ledger_status]),
        )
        .values(values)
        .returning(_LEDGER.c.id, _LEDGER.c.purpose, _LEDGER.c.subscriber_id)
    )


def apply(
    session: Session,
    message: OutboundMessage,
    status: str,
    error_code: int | None,
    now: datetime,
) -> None:
    """Move the ledger forward (never back) and act on permanent errors."""
    ledger_status = LEDGER_STATUS.get(status)
    if ledger_status is None or message.status in _AT_OR_AHEAD[ledger_status]:
        return
    for column, value in _moved_values(ledger_status, error_code, now).items():
        setattr(message, column, value)
    _after_move(
        session, message.id, message.purpose, message.subscriber_id, error_code, now, message
    )


def apply_early_callbacks(session: Session, message: OutboundMessage, now: datetime) -> None:
    """Apply callbacks that arrived before the provider's id was recorded."""
    if not message.provider_sid:
        return
    events = session.scalars(
        select(StatusEvent).where(StatusEvent.message_sid == message.provider_sid)
    )
    for event in events:
        apply(session, message, event.status, event.error_code, now)


# For each ledger status a text with a provider id can lag in, the provider statuses
# that would move it on.
_MOVES_ON = {
    ledger_status: sorted(
        provider for provider, moved in LEDGER_STATUS.items() if RANK[moved] > rank
    )
    for ledger_status, rank in RANK.items()
    if rank < max(RANK.values())
}


def catch_up(session: Session, since: datetime, until: datetime, now: datetime) -> int:
    """Apply the callbacks received in [since, until) that the ledger has not taken (see
    the module docstring). Returns how many texts moved.

    Only pairs of a stored callback and a text it would move on are read: the window
    holds every callback of every text, and nearly all of them were applied at once.
    """
    events = StatusEvent.__table__
    lagging = or_(
        *(
            and_(_LEDGER.c.status == status, events.c.status.in_(ahead))
            for status, ahead in _MOVES_ON.items()
        )
    )
    rows = session.execute(
        select(events.c.message_sid, events.c.status, events.c.error_code)
        .join(_LEDGER, _LEDGER.c.provider_sid == events.c.message_sid)
        .where(events.c.received_at >= since, events.c.received_at < until, lagging)
        .order_by(events.c.id)
    ).all()
    moved: set[int] = set()
    for message_sid, status, error_code in rows:
        message_id = _move_on(session, message_sid, LEDGER_STATUS[status], error_code, now)
        if message_id is not None:
            moved.add(message_id)
    return len(moved)


def _moved_values(ledger_status: str, error_code: int | None, now: datetime) -> dict[str, object]:
    values: dict[str, object] = {"status": ledger_status, "updated_at": now}
    if error_code:
        values["error_code"] = error_code
    return values


def _after_move(
    session: Session,
    message_id: int,
    purpose: str,
    subscriber_id: int | None,
    error_code: int | None,
    now: datetime,
    message: OutboundMessage | None = None,
) -> None:
    """A permanent carrier answer ends sends to the number; listeners hear of the move.

    `message` is the moved row when the caller holds it; else it is loaded afresh, and
    only if some listener wants it.
    """
    if error_code in NUMBER_IS_DEAD and subscriber_id:
        subscriber = session.get(Subscriber, subscriber_id)
        if subscriber is not None:
            mark_unreachable(subscriber, error_code, now)
    listeners = LISTENERS.get(purpose, ())
    if listeners:
        if message is None:
            message = session.get(OutboundMessage, message_id, populate_existing=True)
        for listener in listeners:
            listener(session, message, now)
