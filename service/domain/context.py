"""What a command handler gets to work with when a text comes in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from service.config import Config
from service.models import Keyword, Person, Subscriber
from service.vault import Vault


@dataclass(frozen=True)
class Effect:
    """Work to hand to RQ once the transaction that caused it has committed.

    It is a hint: the database already holds everything needed, and a clock
    sweep re-drives whatever a lost hint would have done.
    """

    queue: str
    function: str
    args: tuple[Any, ...] = ()
    job_id: str | None = None


_SUBSCRIBERS = Subscriber.__table__
# Built once: every inbound text looks up its sender, and building the statement is
# a measurable part of the webhook's cost.
_SUBSCRIBER_BY_HASH = select(_SUBSCRIBERS).where(
    _SUBSCRIBERS.c.phone_hash == bindparam("phone_hash")
)
_NEW_SUBSCRIBER = insert(_SUBSCRIBERS).returning(_SUBSCRIBERS.c.id)


class SenderRecord:
    """The sender's subscriber row, as a command handler reads and changes it.

    Read with one Core select and written back with one UPDATE of the columns that
    changed (`SmsContext.save_sender`, once the handler is done): the ORM's identity
    map and unit of work were about a twentieth of every webhook request's CPU.
    Handlers assign attributes as on the model; a name that is not a column fails.
    """

    COLUMNS = tuple(column.name for column in _SUBSCRIBERS.columns)
    __slots__ = (*COLUMNS, "changes")

    id: int
    phone_hash: str
    phone_enc: bytes | None
    status: str
    language: str
    zone_id: int | None
    created_at: datetime
    status_changed_at: datetime
    last_auto_reply_at: datetime | None
    forgotten_at: datetime | None
    changes: dict[str, Any]

    def __init__(self, values: Mapping[str, Any]) -> None:
        for name in self.COLUMNS:
            object.__setattr__(self, name, values[name])
        object.__setattr__(self, "changes", {})

    def __setattr__(self, name: str, value: Any) -> None:
        if getattr(self, name) != value:
            self.changes[name] = value
        object.__setattr__(self, name, value)


@dataclass
class SmsContext:
    session: Session
    vault: Vault
    config: Config
    message_sid: str
    phone: str
    phone_hash: str
    body: str
    now: datetime
    effects: list[Effect] = field(default_factory=list)
    keep_body: bool = True  # FORGET: not even the text that asked for it is kept
    _subscriber: SenderRecord | None = None
    _looked_up: bool = False
    _person: Person | None = None
    _person_looked_up: bool = False
    _keywords: dict[str, Keyword | None] = field(default_factory=dict)

    def keyword(self, word: str) -> Keyword | None:
        """The campaign keyword `word`, looked up once per text (the session's identity
        map holds objects weakly, so a keyword only checked for would be fetched again)."""
        if word not in self._keywords:
            self._keywords[word] = self.session.get(Keyword, word)
        return self._keywords[word]

    @property
    def person(self) -> Person | None:
        """The registered person texting, if any (looked up only when a command needs it)."""
        if not self._person_looked_up:
            self._person = self.session.scalar(
                select(Person).where(Person.phone_hash == self.phone_hash)
            )
            self._person_looked_up = True
        return self._person

    @property
    def subscriber(self) -> SenderRecord | None:
        if not self._looked_up:
            row = self.session.execute(_SUBSCRIBER_BY_HASH, {"phone_hash": self.phone_hash}).first()
            self._subscriber = None if row is None else SenderRecord(row._mapping)
            self._looked_up = True
        return self._subscriber

    def subscriber_or_create(self, status: str = "active", language: str = "en") -> SenderRecord:
        """The sender's subscriber row; a new one starts with `status` and `language`."""
        if self.subscriber is None:
            values: dict[str, Any] = {
                "phone_hash": self.phone_hash,
                "phone_enc": self.vault.encrypt(self.phone),
                "status": status,
                "language": language,
                "zone_id": None,
                "created_at": self.now,
                "status_changed_at": self.now,
                "last_auto_reply_at": None,
                "forgotten_at": None,
            }
            values["id"] = self.session.execute(_NEW_SUBSCRIBER, values).scalar_one()
            self._subscriber = SenderRecord(values)
        return self._subscriber

    def save_sender(self) -> None:
        """Write what the handler changed on the sender's row (one UPDATE, if any)."""
        sender = self._subscriber
        if sender is not None and sender.changes:
            self.session.execute(
                update(_SUBSCRIBERS).where(_SUBSCRIBERS.c.id == sender.id).values(sender.changes)
            )
            sender.changes.clear()

    @property
    def language(self) -> str:
        return self.subscriber.language if self.subscriber else "en"

    def reply(self, name: str, language: str | None = None, **values: Any) -> str:
        from service.sms.replies import render

        contact = self.config.help_contact
        lang = language or self.language
        contact_line = render("contact_line", lang, contact=contact) if contact else ""
        return render(
            name,
            lang,
            org=self.config.org_name,
            contact=contact,
            contact_line=contact_line,
            **values,
        )
