"""Registered people and their roles."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.errors import InvalidInput
from service.models import Person
from service.models.people import ROLES
from service.phones import InvalidPhoneNumber, normalize
from service.vault import Vault


def register(
    session: Session, vault: Vault, phone: str, role: str, *, name: str = "", tier: int = 1
) -> Person:
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not 1 <= tier <= 9:
        raise InvalidInput(f"tier must be between 1 and 9, not {tier}")
    if len(name) > 60:
        raise InvalidInput("name must be at most 60 characters")
    try:
        number = normalize(phone)
    except InvalidPhoneNumber as exc:
        raise InvalidInput(str(exc)) from None
    phone_hash = vault.lookup_hash(number)
    person = session.scalar(select(Person).where(Person.phone_hash == phone_hash))
    if person is None:
        person = Person(phone_hash=phone_hash, phone_enc=vault.encrypt(number), role=role)
        session.add(person)
    person.role, person.name, person.tier = role, name or person.name or "", tier
    session.flush()
    return person
