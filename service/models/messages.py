"""Texts in and out: the inbound record, the outbound send ledger, status callbacks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, ForeignKey, Index, LargeBinary, String, UniqueConstraint, text
from sqlalchemy import literal as sql_literal
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base, UTCDateTime, utcnow


def _partial_index(name: str, column: str, where: str) -> Index:
    return Index(name, column, postgresql_where=text(where), sqlite_where=text(where))


class InboundMessage(Base):
    """Every accepted inbound text, once per MessageSid (Twilio retries reuse it)."""

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_sid: Mapped[str] = mapped_column(String(64), unique=True)
    phone_hash: Mapped[str] = mapped_column(String(64), index=True)
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="SET NULL"), index=True
    )
    # NULL after retention or FORGET; the row stays so a retry is still recognised.
    body_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    command: Mapped[str] = mapped_column(String(20))
    # The reply we answered with, so a retry of the same MessageSid gets the same answer.
    reply_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


# Ledger states, in the only order they may move (status callbacks arrive out of order).
OUTBOUND_STATES = (
    "queued",  # planned, not yet claimed by a worker
    "claimed",  # a worker is calling the provider; outcome unknown if it dies now
    "sent",  # the provider accepted it
    "delivered",
    "undelivered",
    "failed",
)
FINAL_STATES = frozenset({"delivered", "undelivered", "failed", "skipped", "unknown"})


class OutboundMessage(Base):
    """The send ledger: one row per text we mean to send, claimed before the provider is called."""

    __tablename__ = "outbound_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(12))  # notice | broadcast | page
    # Looked up through the unique (broadcast_id, subscriber_id) index below.
    broadcast_id: Mapped[int | None] = mapped_column()
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="SET NULL")
    )
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    # Set when the recipient is not a subscriber row (a one-off notice).
    to_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    # With to_enc, the number's keyed hash: its encryption differs each time, so SQL
    # tells two texts to one bare number apart only by this.
    to_hash: Mapped[str | None] = mapped_column(String(64))
    body_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    # queued | claimed | sent | delivered | undelivered | failed | skipped | unknown
    status: Mapped[str] = mapped_column(String(12), default="queued")
    provider_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    error_code: Mapped[int | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # An unknown text is looked up at the provider once (service/domain/unknowns.py).
    looked_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        # A recipient can never be queued twice for one broadcast.
        UniqueConstraint("broadcast_id", "subscriber_id"),
        # The sweeps' look-ups, each over the few rows in one state. Partial, so that a
        # broadcast's queued rows are in none of them: with statistics from a ledger of
        # settled texts, PostgreSQL took a general (status, ...) index to find a claim's
        # few rows by reading every queued row, at each claim. Fewer writes, too: a row
        # enters an index here only while it is claimed or unknown.
        _partial_index("ix_outbound_messages_claimed", "claimed_at", "status = 'claimed'"),
        _partial_index("ix_outbound_messages_unknown", "claimed_at", "status = 'unknown'"),
        _partial_index(
            "ix_outbound_messages_queued_notices",
            "created_at",
            "status = 'queued' AND broadcast_id IS NULL",
        ),
        # Retention: only one-off texts keep a body.
        _partial_index("ix_outbound_messages_bodies", "updated_at", "body_enc IS NOT NULL"),
    )

    @classmethod
    def in_state(cls, status: str) -> ColumnElement[bool]:
        """`status = '<status>'` with the value written into the SQL: a planner matches a
        partial index above only against a constant (SQLite never against a bound
        parameter, PostgreSQL not in a generic plan)."""
        return cls.status == sql_literal(status, literal_execute=True)


class StatusEvent(Base):
    """Status callbacks seen, once per (MessageSid, MessageStatus)."""

    __tablename__ = "status_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_sid: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    error_code: Mapped[int | None] = mapped_column()
    # The clock's catch-up pass reads the callbacks of the last few seconds by this.
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    __table_args__ = (UniqueConstraint("message_sid", "status"),)
