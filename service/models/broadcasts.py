"""Broadcasts: what an organizer sends to the movement, how far its fan-out got, and RSVPs.

A broadcast row is written at preview time and is the durable record of the
whole send: the bodies (encrypted), the audience, the one-time code, when it
may start, how far planning got (a keyset cursor) and who holds the planning
lease. Each planned range of recipients is a chunk with its own lease, so a
worker that dies mid-chunk is noticed by the clock sweep and its chunk resumed.
The per-recipient rows live in the send ledger (outbound_messages), unique per
(broadcast, subscriber).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, LargeBinary, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base, UTCDateTime, utcnow

# preview -> scheduled -> sending -> done; preview -> cancelled; scheduled|sending -> aborted
BROADCAST_STATES = ("preview", "cancelled", "scheduled", "sending", "done", "aborted")
IN_FLIGHT = ("scheduled", "sending")


class Broadcast(Base):
    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    organizer_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(8))  # bcast | move | meet
    state: Mapped[str] = mapped_column(String(10), default="preview")
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id", ondelete="SET NULL"))
    # The text everyone gets unless their language has its own (Fernet).
    body_enc: Mapped[bytes] = mapped_column(LargeBinary)
    # {"es": "..."}: per-language bodies, encrypted JSON; NULL when there is one text.
    translations_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    urgent: Mapped[bool] = mapped_column(default=False)
    validity_period: Mapped[int] = mapped_column(default=14_400)
    # The one-time confirmation code of the preview and until when it holds.
    code: Mapped[str | None] = mapped_column(String(8))
    code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    wrong_codes: Mapped[int] = mapped_column(default=0)
    # What the preview promised.
    recipients_estimate: Mapped[int] = mapped_column(default=0)
    segments: Mapped[int] = mapped_column(default=1)
    cost_estimate: Mapped[Decimal] = mapped_column(Numeric(12, 4), default=Decimal(0))
    # Wanted start (API); the actual start is pushed past quiet hours unless urgent.
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Planning: subscribers with id <= planned_through are in the ledger.
    planned_through: Mapped[int] = mapped_column(default=0)
    planning_done: Mapped[bool] = mapped_column(default=False)
    lease_token: Mapped[str | None] = mapped_column(String(32))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    aborted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        Index("ix_broadcasts_state_send_at", "state", "send_at"),
        Index("ix_broadcasts_organizer_id_state", "organizer_id", "state"),
    )


class BroadcastChunk(Base):
    """One send job's share: the ledger rows of subscribers in (after_id, through_id]."""

    __tablename__ = "broadcast_chunks"

    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    after_id: Mapped[int] = mapped_column()
    through_id: Mapped[int] = mapped_column()
    state: Mapped[str] = mapped_column(String(8), default="pending")  # pending | done
    # Bumped each time the sweep hands the chunk to a new RQ job (part of the job id).
    attempt: Mapped[int] = mapped_column(default=0)
    lease_token: Mapped[str | None] = mapped_column(String(32))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("broadcast_id", "after_id"),
        Index("ix_broadcast_chunks_state_lease_until", "state", "lease_until"),
    )


class Rsvp(Base):
    """A supporter answered RSVP to a meeting notice; counted once per meeting."""

    __tablename__ = "rsvps"

    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("broadcast_id", "subscriber_id"),)
