"""Helpers for the rapid-response tests: people, their texts, a movable clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select

from service.domain import people, zones
from service.domain.alerts import escalation
from service.models import Alert, AlertEvent, OutboundMessage, Person, utcnow

ORGANIZER = "+12155550101"
DISPATCHER = "+12155550102"
ANA = "+12155550111"  # tier 1
BEN = "+12155550112"  # tier 1
CARLA = "+12155550121"  # tier 2
SUPPORTER = "+12155550150"


@dataclass
class Crew:
    runtime: object

    def add(self, number: str, role: str, name: str, tier: int = 1, zone: str | None = None):  # type: ignore[no-untyped-def]
        rt = self.runtime
        with rt.database.session() as session:
            person = people.register(session, rt.vault, number, role, name=name, tier=tier)
            if zone:
                person.zone_id = zones.add_zone(session, zone).id
            return person.id

    def texts(self, number: str) -> list[str]:
        """Every text queued for this registered number, oldest first."""
        rt = self.runtime
        with rt.database.session() as session:
            person = session.scalar(
                select(Person).where(Person.phone_hash == rt.vault.lookup_hash(number))
            )
            rows = session.scalars(
                select(OutboundMessage)
                .where(OutboundMessage.person_id == person.id)
                .order_by(OutboundMessage.id)
            )
            return [rt.vault.decrypt(r.body_enc) for r in rows]

    def to_number(self, number: str) -> list[str]:
        """Texts queued to a bare number (a reporter)."""
        rt = self.runtime
        with rt.database.session() as session:
            rows = session.scalars(
                select(OutboundMessage)
                .where(OutboundMessage.to_enc.is_not(None))
                .order_by(OutboundMessage.id)
            )
            return [
                rt.vault.decrypt(r.body_enc) for r in rows if rt.vault.decrypt(r.to_enc) == number
            ]

    def alert(self, alert_id: int | None = None) -> Alert:
        with self.runtime.database.session() as session:
            query = select(Alert).order_by(Alert.id.desc())
            if alert_id is not None:
                query = query.where(Alert.id == alert_id)
            return session.scalars(query).first()

    def timeline(self, alert_id: int) -> list[tuple[str, str]]:
        with self.runtime.database.session() as session:
            rows = session.scalars(
                select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)
            )
            return [(e.kind, e.detail) for e in rows]

    def sweep(self, after_seconds: float) -> list[int]:
        """Run the escalation sweep as if ``after_seconds`` had passed."""
        rt = self.runtime
        with rt.database.session() as session:
            return escalation.fire_due(
                session, rt.vault, rt.config, utcnow() + timedelta(seconds=after_seconds)
            )


@pytest.fixture
def crew(runtime):  # type: ignore[no-untyped-def]
    c = Crew(runtime)
    c.add(ORGANIZER, "organizer", "Olga")
    c.add(DISPATCHER, "dispatcher", "Dee")
    c.add(ANA, "responder", "Ana", tier=1)
    c.add(BEN, "responder", "Ben", tier=1)
    c.add(CARLA, "responder", "Carla", tier=2)
    return c
