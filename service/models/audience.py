"""Who is on the lists: subscribers, campaign lists and keywords, zones, consent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.models.base import Base, UTCDateTime, utcnow


class Zone(Base):
    __tablename__ = "zones"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)  # stored upper-case
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ZoneZip(Base):
    __tablename__ = "zone_zips"

    zip: Mapped[str] = mapped_column(String(10), primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id", ondelete="CASCADE"), index=True)


class CampaignList(Base):
    """A list people join through a keyword (the default list is named after JOIN)."""

    __tablename__ = "lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Keyword(Base):
    __tablename__ = "keywords"

    word: Mapped[str] = mapped_column(String(30), primary_key=True)  # normalised upper-case
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(2), default="en")
    # Loaded in the same statement as the keyword: a keyword JOIN replies with its name.
    campaign: Mapped[CampaignList] = relationship(lazy="joined")


class Subscriber(Base):
    """One phone number that texted us. The number itself is only ever stored encrypted."""

    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # NULL once the person texted FORGET: only the hash stays, so STOP keeps holding.
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    # active | opted_out | unreachable (a permanent carrier error; no more sends)
    status: Mapped[str] = mapped_column(String(12), default="active")
    language: Mapped[str] = mapped_column(String(2), default="en")
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_auto_reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    forgotten_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_subscribers_status_zone_id", "status", "zone_id", "id"),)


class Membership(Base):
    __tablename__ = "memberships"

    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    )
    list_id: Mapped[int] = mapped_column(
        ForeignKey("lists.id", ondelete="CASCADE"), primary_key=True
    )
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsentEvent(Base):
    """Proof of consent: every opt-in and opt-out, when, by which word, in which message."""

    __tablename__ = "consent_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))  # opt_in | opt_out
    keyword: Mapped[str] = mapped_column(String(30))
    source: Mapped[str] = mapped_column(String(20), default="sms")  # sms | carrier | api
    message_sid: Mapped[str | None] = mapped_column(String(64))
    list_id: Mapped[int | None] = mapped_column(ForeignKey("lists.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
