"""Texts whose outcome is unknown, looked up at the provider.

A worker killed between the provider call and the record, or a call that timed
out, leaves a text "unknown": it may have gone out or not, and sending it again
could text the person twice. The provider knows. A while after (LOOK_AFTER, so
that its list is up to date), the clock asks it once per text for its latest
texts to that number. Exactly one created since the claim that the ledger does
not know already is the one: the text is recorded sent with that id, and the
status callbacks kept for the id are applied. None, or more than one, leaves the
text unknown; so does another unknown text to the same number, since either of
the two could be the one found. A text the provider never got is not sent again:
the worker that claimed it may be stalled, not dead.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from service.database import Database
from service.domain import delivery
from service.gateway.base import SentText, SmsGateway
from service.models import OutboundMessage, Person, Subscriber
from service.vault import Vault

LOOK_AFTER = timedelta(seconds=30)
LOOK_WITHIN = timedelta(hours=6)  # older unknowns are left as they are
CLOCK_SKEW = timedelta(minutes=2)  # between our clock and the provider's


@dataclass(frozen=True)
class Unknown:
    message_id: int
    to: str
    claimed_at: datetime


def look_up(database: Database, vault: Vault, gateway: SmsGateway, now: datetime) -> dict[str, int]:
    """Look up every unknown text that is due; how many came out which way."""
    with database.session() as session:
        pending = due(session, vault, now)
    results: Counter[str] = Counter()
    for unknown in pending:
        # No transaction is open while the provider is asked.
        sent = gateway.sent_to(unknown.to)
        with database.session() as session:
            results[settle(session, unknown, sent, now)] += 1
    return dict(results)


def due(session: Session, vault: Vault, now: datetime, limit: int = 20) -> list[Unknown]:
    """Unknown texts not looked up yet; those without a number left (FORGET) are
    marked looked up, as there is nothing to ask."""
    messages = session.scalars(
        select(OutboundMessage)
        .where(
            OutboundMessage.in_state("unknown"),
            OutboundMessage.provider_sid.is_(None),
            OutboundMessage.looked_up_at.is_(None),
            OutboundMessage.updated_at <= now - LOOK_AFTER,
            OutboundMessage.claimed_at >= now - LOOK_WITHIN,
        )
        .order_by(OutboundMessage.id)
        .limit(limit)
    )
    found = []
    for message in messages:
        number = _number(session, vault, message)
        if number is None:
            message.looked_up_at = now
        else:
            assert message.claimed_at is not None
            found.append(Unknown(message.id, number, message.claimed_at))
    return found


def settle(session: Session, unknown: Unknown, sent: list[SentText] | None, now: datetime) -> str:
    """Apply what the provider said of one unknown text: "found", "not found",
    "ambiguous", or "unavailable" (it could not be asked: try again next time)."""
    if sent is None:
        return "unavailable"
    message = session.get(OutboundMessage, unknown.message_id)
    if message is None or message.status != "unknown" or message.provider_sid is not None:
        return "settled meanwhile"
    message.looked_up_at = now
    since = unknown.claimed_at - CLOCK_SKEW
    candidates = [text for text in sent if text.created_at >= since]
    known = set(
        session.scalars(
            select(OutboundMessage.provider_sid).where(
                OutboundMessage.provider_sid.in_([text.sid for text in candidates])
            )
        )
    )
    fresh = [text for text in candidates if text.sid not in known]
    if not fresh:
        return "not found"
    if len(fresh) > 1 or _another_unknown(session, message, since):
        return "ambiguous"
    message.status = "sent"
    message.provider_sid = fresh[0].sid
    message.sent_at = fresh[0].created_at
    message.updated_at = now
    session.flush()
    delivery.apply_early_callbacks(session, message, now)
    return "found"


def _number(session: Session, vault: Vault, message: OutboundMessage) -> str | None:
    encrypted: bytes | None = message.to_enc
    if message.subscriber_id is not None:
        subscriber = session.get(Subscriber, message.subscriber_id)
        encrypted = subscriber.phone_enc if subscriber else None
    elif message.person_id is not None:
        person = session.get(Person, message.person_id)
        encrypted = person.phone_enc if person else None
    return vault.decrypt(encrypted) if encrypted else None


def _another_unknown(session: Session, message: OutboundMessage, since: datetime) -> bool:
    """Another unknown text to the same number, whether it went through a subscriber
    row, a person row (one number can be both) or to the number alone."""
    number = session.scalar(select(_recipient_hash()).where(OutboundMessage.id == message.id))
    if number is None:
        return False
    return (
        session.scalar(
            select(OutboundMessage.id)
            .where(
                OutboundMessage.id != message.id,
                OutboundMessage.in_state("unknown"),
                OutboundMessage.provider_sid.is_(None),
                OutboundMessage.claimed_at >= since,
                _recipient_hash() == number,
            )
            .limit(1)
        )
        is not None
    )


def _recipient_hash() -> ColumnElement[str | None]:
    """The keyed hash of the number a ledger row is addressed to, in _number's order of
    precedence: texts are compared by hash, since two encryptions of one number differ."""
    return func.coalesce(
        select(Subscriber.phone_hash)
        .where(Subscriber.id == OutboundMessage.subscriber_id)
        .scalar_subquery(),
        select(Person.phone_hash).where(Person.id == OutboundMessage.person_id).scalar_subquery(),
        OutboundMessage.to_hash,
    )
