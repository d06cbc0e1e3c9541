"""What the API tells about subscribers: counts, and one subscriber by phone number.

There is deliberately no way to list numbers: counts answer "how many", and a
single look-up by a number the caller already has answers "is this person on
our lists". The look-up reveals a number's record, so it is an admin action and
it is written to the audit log whether or not it finds anyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from service.domain import audit
from service.errors import InvalidInput
from service.models import CampaignList, Membership, Subscriber, Zone
from service.phones import InvalidPhoneNumber, mask, normalize
from service.vault import Vault

STATUSES = ("active", "opted_out", "unreachable")


@dataclass(frozen=True)
class Counts:
    status: str | None  # the status the breakdowns count, None for every status
    total: int
    by_status: dict[str, int]
    by_language: dict[str, int]
    by_zone: list[tuple[str | None, int]]  # (zone name or None for no zone, count)
    by_list: list[tuple[str, int]]


def counts(session: Session, status: str | None = "active") -> Counts:
    """How many subscribers there are, by status, and by language, zone and list among
    those with ``status`` (all of them when None)."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
    where = [Subscriber.status == status] if status else []
    by_status = {
        row_status: n
        for row_status, n in session.execute(
            select(Subscriber.status, func.count()).group_by(Subscriber.status)
        )
    }
    by_language = dict(
        session.execute(
            select(Subscriber.language, func.count()).where(*where).group_by(Subscriber.language)
        ).all()
    )
    by_zone = list(
        session.execute(
            select(Zone.name, func.count(Subscriber.id))
            .select_from(Subscriber)
            .outerjoin(Zone, Zone.id == Subscriber.zone_id)
            .where(*where)
            .group_by(Zone.name)
            .order_by(Zone.name)
        ).all()
    )
    by_list = list(
        session.execute(
            select(CampaignList.name, func.count(Subscriber.id))
            .select_from(CampaignList)
            .outerjoin(Membership, Membership.list_id == CampaignList.id)
            .outerjoin(Subscriber, and_(Subscriber.id == Membership.subscriber_id, *where))
            .group_by(CampaignList.name)
            .order_by(CampaignList.name)
        ).all()
    )
    total = sum(by_language.values())
    return Counts(status, total, by_status, by_language, by_zone, by_list)


@dataclass(frozen=True)
class SubscriberRecord:
    id: int
    phone: str | None  # None once the person texted FORGET
    status: str
    language: str
    zone: str | None
    lists: list[str]
    created_at: datetime
    status_changed_at: datetime


def lookup(
    session: Session, vault: Vault, actor: audit.Actor, phone: str, now: datetime
) -> SubscriberRecord | None:
    """One subscriber by number; the look-up is audited (never with the number itself)."""
    try:
        number = normalize(phone)
    except InvalidPhoneNumber as exc:
        raise InvalidInput(str(exc)) from None
    subscriber = session.scalar(
        select(Subscriber).where(Subscriber.phone_hash == vault.lookup_hash(number))
    )
    audit.record(
        session,
        actor,
        "subscriber.lookup",
        now,
        target=f"subscriber:{subscriber.id}" if subscriber else "",
        recipients=None,
        detail=f"looked up {mask(number)}: " + ("found" if subscriber else "no match"),
    )
    if subscriber is None:
        return None
    zone = session.get(Zone, subscriber.zone_id) if subscriber.zone_id else None
    lists = list(
        session.scalars(
            select(CampaignList.name)
            .join(Membership, Membership.list_id == CampaignList.id)
            .where(Membership.subscriber_id == subscriber.id)
            .order_by(CampaignList.name)
        )
    )
    return SubscriberRecord(
        id=subscriber.id,
        phone=vault.decrypt(subscriber.phone_enc) if subscriber.phone_enc else None,
        status=subscriber.status,
        language=subscriber.language,
        zone=zone.name if zone else None,
        lists=lists,
        created_at=subscriber.created_at,
        status_changed_at=subscriber.status_changed_at,
    )
