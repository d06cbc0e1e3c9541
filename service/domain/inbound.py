"""An inbound text, end to end: dedupe on MessageSid, record, dispatch, answer.

The record, every state change a command makes, and the reply are written in
one transaction, committed before the webhook answers. A Twilio retry (same
MessageSid) gets the stored reply and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.config import Config
from service.database import Database
from service.domain import outbox, supporters
from service.domain.commands import handler_for
from service.domain.context import SmsContext
from service.models import InboundMessage, utcnow
from service.sms.parser import Command, parse
from service.vault import Vault

ATTEMPTS = 3
OPT_OUT_COMMANDS = frozenset({"stop", "forget"})
OPT_IN_COMMANDS = frozenset({"join", "start"})
_NEW_RECORD = insert(InboundMessage.__table__)


@dataclass(frozen=True)
class InboundText:
    message_sid: str
    phone: str  # E.164
    body: str
    received_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class Outcome:
    reply: str | None
    command: str
    phone_hash: str = ""
    duplicate: bool = False
    outbox_ids: tuple[int, ...] = ()  # follow-up work, to hand to RQ after the commit


def receive(database: Database, vault: Vault, config: Config, text: InboundText) -> Outcome:
    """Handle one inbound text exactly once; the transaction is committed on return.

    The record is inserted last, in the same transaction as everything the command
    changed: of two concurrent deliveries of one MessageSid, the second fails on the
    unique MessageSid as it commits, rolls all its changes back and replays the first.
    """
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with database.session() as session:
                return _handle(session, vault, config, text)
        except IntegrityError:
            with database.session() as session:
                stored = _stored(session, text.message_sid, vault)
            if stored is not None:
                return stored
            # Another text from the same new number created the same row at the same
            # moment: run again, now that it exists.
            if attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _handle(session: Session, vault: Vault, config: Config, text: InboundText) -> Outcome:
    # No look-up of the MessageSid first: retries are rare, and the unique insert at the
    # end catches them (and concurrent duplicates) at no cost to every other text.
    phone_hash = vault.lookup_hash(text.phone)
    ctx = SmsContext(
        session=session,
        vault=vault,
        config=config,
        message_sid=text.message_sid,
        phone=text.phone,
        phone_hash=phone_hash,
        body=text.body,
        now=text.received_at,
    )
    command = parse(text.body, is_campaign_keyword=lambda word: ctx.keyword(word) is not None)
    handler = handler_for(command, ctx)
    if handler is None:
        command = Command("other", command.word, arg=text.body)
        handler = supporters.other
    reply = handler(ctx, command)
    ctx.save_sender()
    subscriber = ctx.subscriber
    # Flushed here, not at commit, so a duplicate is caught inside receive()'s try.
    # A Core insert on the table, not the ORM's bulk insert: the hot path skips the ORM's
    # per-row bookkeeping for a row it never reads back.
    session.execute(
        _NEW_RECORD,
        {
            "message_sid": text.message_sid,
            "phone_hash": phone_hash,
            "subscriber_id": subscriber.id if subscriber else None,
            "body_enc": vault.encrypt(text.body) if ctx.keep_body else None,
            "command": command.name,
            "reply_enc": vault.encrypt(reply) if reply else None,
            "received_at": text.received_at,
        },
    )
    outbox_ids = outbox.defer(session, ctx.effects, text.received_at)
    return Outcome(
        reply=reply, command=command.name, phone_hash=phone_hash, outbox_ids=tuple(outbox_ids)
    )


def _stored(session: Session, message_sid: str, vault: Vault) -> Outcome | None:
    record = session.scalar(select(InboundMessage).where(InboundMessage.message_sid == message_sid))
    if record is None:
        return None
    reply = vault.decrypt(record.reply_enc) if record.reply_enc else None
    return Outcome(
        reply=reply, command=record.command, phone_hash=record.phone_hash, duplicate=True
    )
