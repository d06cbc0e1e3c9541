"""What a command handler gets to work with when a text comes in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
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


# Built once: every inbound text looks up its sender, and building the statement is
# a measurable part of the webhook's cost.
_SUBSCRIBER_BY_HASH = select(Subscriber).where(Subscriber.phone_hash == bindparam("phone_hash"))


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
    _subscriber: Subscriber | None = None
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
    def subscriber(self) -> Subscriber | None:
        if not self._looked_up:
            self._subscriber = self.session.scalar(
                _SUBSCRIBER_BY_HASH, {"phone_hash": self.phone_hash}
            )
            self._looked_up = True
        return self._subscriber

    def subscriber_or_create(self, status: str = "active", language: str = "en") -> Subscriber:
        """The sender's subscriber row; a new one starts with `status` and `language`."""
        if self.subscriber is None:
            self._subscriber = Subscriber(
                phone_hash=self.phone_hash,
                phone_enc=self.vault.encrypt(self.phone),
                status=status,
                language=language,
                status_changed_at=self.now,
                created_at=self.now,
            )
            self.session.add(self._subscriber)
            self.session.flush()
        return self._subscriber

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
