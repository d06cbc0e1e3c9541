"""Who is on call: the people an alert pages, tier by tier."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from service.models import Alert, Person


@dataclass(frozen=True)
class Audience:
    """Whom an alert pages: on-call people of one role, of one zone if given."""

    role: str
    zone_id: int | None = None
    exclude_id: int | None = None  # whoever raised it is not paged about it

    @classmethod
    def of(cls, alert: Alert) -> Audience:
        return cls(alert.audience, alert.zone_id, alert.opened_by_id)

    def query(self) -> Select[tuple[Person]]:
        query = select(Person).where(Person.role == self.role, Person.on_call.is_(True))
        if self.zone_id is not None:
            query = query.where(Person.zone_id == self.zone_id)
        if self.exclude_id is not None:
            query = query.where(Person.id != self.exclude_id)
        return query


def tiers(session: Session, audience: Audience) -> list[int]:
    """The tiers that have someone on call, lowest first."""
    subquery = audience.query().subquery()
    return sorted(set(session.scalars(select(subquery.c.tier).distinct())))


def in_tier(session: Session, audience: Audience, tier: int) -> list[Person]:
    return list(session.scalars(audience.query().where(Person.tier == tier).order_by(Person.id)))


def organizers(session: Session) -> list[Person]:
    return list(session.scalars(select(Person).where(Person.role == "organizer")))
