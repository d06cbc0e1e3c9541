"""The alert's timeline: every step written down as it happens, for organizers to read.

Entries name people (by the name they were registered with), never numbers,
and never repeat the alert's message, which is kept encrypted on the alert.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import AlertEvent, Person


def record(
    session: Session,
    alert_id: int,
    kind: str,
    now: datetime,
    detail: str = "",
    *,
    step: int | None = None,
    person_id: int | None = None,
) -> None:
    session.add(
        AlertEvent(
            alert_id=alert_id,
            at=now,
            kind=kind,
            step=step,
            person_id=person_id,
            detail=detail[:400],
        )
    )


def events(session: Session, alert_id: int) -> list[AlertEvent]:
    return list(
        session.scalars(
            select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)
        )
    )


def name_of(person: Person | None) -> str:
    """How other people see someone: their name, or their role and registry number."""
    if person is None:
        return "someone"
    return person.name or f"{person.role} #{person.id}"


def names(people: Iterable[Person]) -> str:
    listed = [name_of(p) for p in people]
    return ", ".join(listed) if listed else "nobody"
