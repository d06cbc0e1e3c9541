"""The organizer API's tables: bearer tokens, the audit log, idempotency keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base, UTCDateTime, utcnow

TOKEN_ROLES = ("admin", "organizer", "dispatcher", "viewer")


class ApiToken(Base):
    """A bearer token. Only its SHA-256 is kept: the token itself is shown once, at creation."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), default="")
    role: Mapped[str] = mapped_column(String(12))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the token, so a person can tell their tokens apart.
    prefix: Mapped[str] = mapped_column(String(12))
    # The registered person the token acts for (acknowledging an alert needs someone).
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """Who did what, when, to how many people: every organizer action, by text or API.

    Names and ids only: never a phone number or a message body.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    via: Mapped[str] = mapped_column(String(8))  # sms | api | cli
    actor_kind: Mapped[str] = mapped_column(String(8))  # person | token | cli
    actor_id: Mapped[int | None] = mapped_column()
    actor_name: Mapped[str] = mapped_column(String(80), default="")
    actor_role: Mapped[str] = mapped_column(String(12), default="")
    action: Mapped[str] = mapped_column(String(40))  # e.g. broadcast.confirm
    target: Mapped[str] = mapped_column(String(40), default="")  # e.g. broadcast:12
    recipients: Mapped[int | None] = mapped_column()
    detail: Mapped[str] = mapped_column(String(200), default="")

    __table_args__ = (Index("ix_audit_log_action_id", "action", "id"),)


class IdempotencyKey(Base):
    """An Idempotency-Key a token used to create a broadcast, and the body it came with."""

    __tablename__ = "idempotency_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    # No foreign key: broadcasts live on another migration branch (as in the send ledger).
    broadcast_id: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("token_id", "key"),)
