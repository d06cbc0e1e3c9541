"""Rapid response: alerts, the texts each one sent, per-person reply codes, the timeline."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base, UTCDateTime, utcnow

ALERT_STATES = ("open", "acknowledged", "closed", "unanswered")


class Alert(Base):
    """One incident being paged. ``step`` is the fencing token of its escalation.

    Every change that must not happen twice (the next tier paged, an
    acknowledgement, a close) is one conditional UPDATE that matches only the
    step it read and moves it forward, so a second sweep, a retried job or a
    worker restarted mid-way finds the step gone and does nothing.
    """

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # alert (ALERT) | report (REPORT, unverified)
    # The role paged, tier by tier: responder for ALERT, dispatcher for REPORT.
    audience: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(12), default="open")
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id", ondelete="SET NULL"))
    body_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    # REPORT: who reported it (keyed hash for the rate limit, encrypted number for the reply).
    reporter_hash: Mapped[str | None] = mapped_column(String(64))
    reporter_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    reporter_language: Mapped[str | None] = mapped_column(String(2))
    tier: Mapped[int] = mapped_column(default=0)  # the tier paged last (0: none yet)
    cycle: Mapped[int] = mapped_column(default=0)  # 0 the first pass over the tiers, 1 a repeat
    step: Mapped[int] = mapped_column(default=0)
    # When the current tier's time is up; NULL once nothing is due (acked, closed, exhausted).
    next_escalation_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acked_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_alerts_next_escalation_at", "next_escalation_at"),
        Index("ix_alerts_reporter_hash_created_at", "reporter_hash", "created_at"),
    )


class AlertText(Base):
    """A text an alert sent: a page (with a reply code) or a notice (acked, closed, unanswered)."""

    __tablename__ = "alert_texts"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(
        ForeignKey("outbound_messages.id", ondelete="CASCADE"), unique=True
    )
    kind: Mapped[str] = mapped_column(String(8))  # page | notice
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    step: Mapped[int | None] = mapped_column()  # pages: the escalation step that sent it
    tier: Mapped[int | None] = mapped_column()
    # NULL while it may still arrive; delivered | failed (refused, undelivered, skipped).
    outcome: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        # A person is paged at most once per escalation step, whatever runs twice.
        UniqueConstraint("alert_id", "step", "person_id"),
        Index("ix_alert_texts_person_id_kind", "person_id", "kind"),
        Index("ix_alert_texts_created_at", "created_at"),
    )


class ReplyCode(Base):
    """The number in "Reply 3A": per person, held by one alert until it closes plus a cooldown."""

    __tablename__ = "reply_codes"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_reply_codes_alert_id", "alert_id"),)


class AlertEvent(Base):
    """The timeline: every step of an alert. Names only, never phone numbers or the message."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # opened, paged, escalated, repeated, delivered, not_delivered, acked, closed,
    # unanswered, notified, nobody_on_call
    kind: Mapped[str] = mapped_column(String(20))
    step: Mapped[int | None] = mapped_column()
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    detail: Mapped[str] = mapped_column(String(400), default="")
