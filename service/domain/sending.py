"""The sending core: claim in the ledger, call the provider, record the outcome.

It knows no provider. A text is claimed (committed) before the provider is
called and its outcome recorded after, so a crash in between leaves a claim
that the sweep reports as "unknown" instead of sending it again blindly.
Opt-out is checked at claim time: a STOP that lands mid-broadcast wins.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.database import Database
from service.domain import delivery
from service.domain.supporters import mark_unreachable
from service.gateway.base import NUMBER_IS_DEAD, SendError, SmsGateway
from service.models import OutboundMessage, Person, Subscriber, utcnow
from service.phones import mask
from service.vault import Vault

log = logging.getLogger(__name__)

# A claim older than this without an outcome belongs to a worker that died.
CLAIM_LEASE = timedelta(seconds=60)

# Extra reasons not to send, checked at claim time: (session, message) -> reason or None.
# Broadcasts add "the broadcast was aborted".
SkipCheck = Callable[[Session, OutboundMessage], "str | None"]
SKIP_CHECKS: list[SkipCheck] = []


class Pacer(Protocol):
    """What the core needs from a rate limiter (workers.pacing.RateLimiter has it)."""

    def acquire(self, priority: bool = False, timeout: float | None = None) -> bool: ...


class Fence(Protocol):
    """What the core needs from the opt-out fence (service.optout_fence.OptOutFence has it)."""

    def enter(self, phone_hash: str) -> bool: ...

    def leave(self, phone_hash: str) -> None: ...

    def exchange(self, leaving: list[str], entering: list[str]) -> list[bool]: ...


class PacerUnavailable(SendError):
    """The rate limiter could not be asked (Redis down): the text was not tried."""

    untried = True


class Unpaced:
    def acquire(self, priority: bool = False, timeout: float | None = None) -> bool:
        return True


class RetryLater(Exception):
    """A retryable provider error: the message is queued again; try after a backoff."""

    def __init__(self, message_id: int, error: SendError) -> None:
        super().__init__(f"message {message_id}: {error}")
        self.error = error


@dataclass(frozen=True)
class Prepared:
    message_id: int
    to: str
    body: str


def claim(session: Session, vault: Vault, message_id: int, now: datetime) -> Prepared | None:
    """Take a queued message for sending; None if it is not ours to send (done, taken, skipped)."""
    return next(iter(claim_many(session, vault, [message_id], now)), None)


def claim_many(
    session: Session, vault: Vault, message_ids: list[int], now: datetime
) -> list[Prepared]:
    """Take queued messages for sending (a tier's pages at once): one UPDATE, the rows and
    their recipients loaded together. What must not go after all is marked skipped."""
    taken = list(
        session.scalars(
            update(OutboundMessage)
            .where(OutboundMessage.id.in_(message_ids), OutboundMessage.status == "queued")
            .values(
                status="claimed",
                claimed_at=now,
                attempts=OutboundMessage.attempts + 1,
                updated_at=now,
            )
            .returning(OutboundMessage.id)
            .execution_options(synchronize_session=False)
        )
    )
    if not taken:
        return []
    messages = session.scalars(
        select(OutboundMessage)
        .where(OutboundMessage.id.in_(taken))
        .order_by(OutboundMessage.id)
        .execution_options(populate_existing=True)
    ).all()
    # Into the session's identity map, where _prepare's lookups find them.
    if person_ids := {m.person_id for m in messages if m.person_id is not None}:
        session.scalars(select(Person).where(Person.id.in_(person_ids))).all()
    if subscriber_ids := {m.subscriber_id for m in messages if m.subscriber_id is not None}:
        session.scalars(select(Subscriber).where(Subscriber.id.in_(subscriber_ids))).all()
    return [
        prepared
        for message in messages
        if (prepared := _prepare(session, vault, message)) is not None
    ]


def _prepare(session: Session, vault: Vault, message: OutboundMessage) -> Prepared | None:
    """A claimed message, ready to send; None (and skipped) if it must not go."""
    reason, to = _recipient(session, vault, message)
    if reason is None:
        reason = next((r for check in SKIP_CHECKS if (r := check(session, message))), None)
    if reason is not None or to is None:
        message.status = "skipped"
        log.info("message %s skipped: %s", message.id, reason)
        return None
    return Prepared(message.id, to, vault.decrypt(message.body_enc) if message.body_enc else "")


def record_sent(session: Session, message_id: int, provider_sid: str, now: datetime) -> None:
    message = session.get(OutboundMessage, message_id)
    assert message is not None
    message.status = "sent"
    message.provider_sid = provider_sid
    message.sent_at = now
    message.updated_at = now
    session.flush()
    delivery.apply_early_callbacks(session, message, now)


def release(session: Session, message_id: int) -> str:
    """A claimed text that was never tried (Redis was down): queued again and dated as
    when it was written, so the sweep re-drives it as if its job had been lost."""
    session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.id == message_id, OutboundMessage.status == "claimed")
        .values(status="queued", updated_at=OutboundMessage.created_at)
    )
    return "queued"


def record_skipped(session: Session, message_id: int, now: datetime) -> str:
    """A claimed text that must not go after all (its number was sealed by a STOP)."""
    session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.id == message_id)
        .values(status="skipped", updated_at=now)
    )
    return "skipped"


def record_failure(session: Session, message_id: int, error: SendError, now: datetime) -> str:
    """Turn a provider error into a ledger status; always recorded."""
    message = session.get(OutboundMessage, message_id)
    assert message is not None
    message.error_code = error.code
    message.updated_at = now
    if error.ambiguous:
        message.status = "unknown"
    elif error.retryable:
        message.status = "queued"  # released: the retry claims it again
    else:
        message.status = "failed"
        if error.code in NUMBER_IS_DEAD and message.subscriber_id:
            subscriber = session.get(Subscriber, message.subscriber_id)
            if subscriber is not None:
                mark_unreachable(subscriber, error.code, now)
    return message.status


def send_one(
    database: Database,
    vault: Vault,
    gateway: SmsGateway,
    pacer: Pacer,
    message_id: int,
    *,
    priority: bool = False,
    validity_period: int | None = None,
    fence: Fence | None = None,
) -> str:
    """Send one ledger message at most once. Raises RetryLater for a retryable error."""
    pacer.acquire(priority=priority)
    with database.session() as session:
        prepared = claim(session, vault, message_id, utcnow())
        if prepared is None:
            current = session.get(OutboundMessage, message_id)
            return current.status if current else "missing"
    phone_hash = vault.lookup_hash(prepared.to)
    if fence is not None and not fence.enter(phone_hash):
        # A STOP was confirmed between the claim and now.
        with database.session() as session:
            return record_skipped(session, message_id, utcnow())
    try:
        provider_sid = gateway.send(prepared.to, prepared.body, validity_period=validity_period)
    except SendError as error:
        with database.session() as session:
            status = record_failure(session, message_id, error, utcnow())
        log.warning("send to %s failed (%s): %s", mask(prepared.to), status, error)
        if status == "queued":
            raise RetryLater(message_id, error) from None
        return status
    finally:
        if fence is not None:
            fence.leave(phone_hash)
    with database.session() as session:
        record_sent(session, message_id, provider_sid, utcnow())
    return "sent"


def queue_notice(
    session: Session,
    vault: Vault,
    body: str,
    *,
    subscriber: Subscriber | None = None,
    person: Person | None = None,
    to: str | None = None,
    purpose: str = "notice",
    now: datetime | None = None,
) -> OutboundMessage:
    """Put a one-off text in the ledger (the caller enqueues its delivery after commit)."""
    now = now or utcnow()
    message = OutboundMessage(
        purpose=purpose,
        subscriber_id=subscriber.id if subscriber else None,
        person_id=person.id if person else None,
        to_enc=vault.encrypt(to) if to else None,
        to_hash=vault.lookup_hash(to) if to else None,
        body_enc=vault.encrypt(body),
        status="queued",
        created_at=now,
        updated_at=now,
    )
    session.add(message)
    session.flush()
    return message


def mark_abandoned_claims(session: Session, now: datetime, lease: timedelta = CLAIM_LEASE) -> int:
    """Claims whose worker died before recording an outcome: report them as unknown."""
    return session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.in_state("claimed"), OutboundMessage.claimed_at < now - lease)
        .values(status="unknown", updated_at=now)
    ).rowcount


def queued_notice_ids(session: Session, older_than: datetime, limit: int = 500) -> list[int]:
    """One-off texts still waiting (their RQ job was lost): the sweep re-drives them."""
    return list(
        session.scalars(
            select(OutboundMessage.id)
            .where(
                OutboundMessage.in_state("queued"),
                OutboundMessage.broadcast_id.is_(None),
                OutboundMessage.created_at < older_than,
            )
            .order_by(OutboundMessage.id)
            .limit(limit)
        )
    )


def _recipient(
    session: Session, vault: Vault, message: OutboundMessage
) -> tuple[str | None, str | None]:
    if message.subscriber_id is not None:
        subscriber = session.get(Subscriber, message.subscriber_id)
        if subscriber is None or subscriber.status != "active" or subscriber.phone_enc is None:
            return "recipient opted out or unreachable", None
        return None, vault.decrypt(subscriber.phone_enc)
    if message.person_id is not None:
        person = session.get(Person, message.person_id)
        if person is None:
            return "person removed", None
        # A registered person who also texted STOP as a subscriber is not texted either.
        opted_out = session.scalar(
            select(Subscriber.id).where(
                Subscriber.phone_hash == person.phone_hash, Subscriber.status != "active"
            )
        )
        if opted_out:
            return "recipient opted out", None
        return None, vault.decrypt(person.phone_enc)
    if message.to_enc is not None:
        to = vault.decrypt(message.to_enc)
        opted_out = session.scalar(
            select(Subscriber.id).where(
                Subscriber.phone_hash == vault.lookup_hash(to), Subscriber.status != "active"
            )
        )
        return ("recipient opted out", None) if opted_out else (None, to)
    return "no recipient", None
