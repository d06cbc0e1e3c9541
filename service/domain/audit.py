"""The audit log: every organizer action, by text, API or command line.

Who (a registered person, an API token, or the command line), what, when and
to how many people. Entries name people and ids, never a phone number or a
message body, so the log itself is safe to read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from service.models import Person
from service.models.api import ApiToken, AuditEntry


@dataclass(frozen=True)
class Actor:
    kind: str  # person | token | cli
    id: int | None
    name: str
    role: str
    via: str  # sms | api | cli
    person_id: int | None = None  # the registered person acting, when there is one

    @classmethod
    def of_person(cls, person: Person) -> Actor:
        return cls("person", person.id, person.name, person.role, "sms", person.id)

    @classmethod
    def of_token(cls, token: ApiToken) -> Actor:
        name = token.name or f"token {token.prefix}"
        return cls("token", token.id, name, token.role, "api", token.person_id)


CLI = Actor("cli", None, "command line", "admin", "cli")


def record(
    session: Session,
    actor: Actor,
    action: str,
    now: datetime,
    *,
    target: str = "",
    recipients: int | None = None,
    detail: str = "",
) -> AuditEntry:
    entry = AuditEntry(
        at=now,
        via=actor.via,
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_name=actor.name[:80],
        actor_role=actor.role,
        action=action,
        target=target[:40],
        recipients=recipients,
        detail=detail[:200],
    )
    session.add(entry)
    return entry


def by_text(
    session: Session,
    person: Person | None,
    action: str,
    now: datetime,
    *,
    target: str = "",
    recipients: int | None = None,
    detail: str = "",
) -> None:
    """An organizer's command by text (the SMS handlers' one line)."""
    if person is None:
        return
    record(
        session,
        Actor.of_person(person),
        action,
        now,
        target=target,
        recipients=recipients,
        detail=detail,
    )
