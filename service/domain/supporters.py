"""What supporters can do by text: join, leave, come back, get help, set area and language,
be forgotten, or just write to us."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Integer, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from service.database import insert_or_ignore_in
from service.domain import keywords, zones
from service.domain.context import SenderRecord, SmsContext
from service.models import (
    Alert,
    AlertText,
    CampaignList,
    ConsentEvent,
    InboundMessage,
    Membership,
    OutboundMessage,
    Rsvp,
    Subscriber,
)
from service.models.base import UTCDateTime
from service.sms.parser import JOIN as JOIN_WORDS
from service.sms.parser import Command

AUTO_REPLY_EVERY = timedelta(days=1)
_NEW_CONSENT = insert(ConsentEvent.__table__)


def join(ctx: SmsContext, command: Command) -> str:
    keyword = None if command.word in JOIN_WORDS else ctx.keyword(command.word)
    language = keyword.language if keyword else command.language or "en"
    subscriber = ctx.subscriber_or_create(language=language)
    was_active = subscriber.status == "active"
    subscriber.language = language
    if keyword is not None:
        list_name, list_id = keyword.campaign.name, keyword.list_id
        added = _add_member(ctx, subscriber, list_id)
    else:
        list_name = ctx.config.org_name
        list_id, added = _join_list(ctx, subscriber, list_name)
    _opt_in(ctx, subscriber, command.word, list_id)
    already = not added and was_active
    return ctx.reply("already_joined" if already else "joined", list=list_name)


def stop(ctx: SmsContext, command: Command) -> str | None:
    # Only an opt-out (by text, at the carrier, or FORGET) leaves a known number opted out.
    already_out = ctx.subscriber is not None and ctx.subscriber.status == "opted_out"
    subscriber = ctx.subscriber_or_create(status="opted_out")
    if command.language:
        subscriber.language = command.language
    _opt_out(ctx, subscriber, command.word)
    # One confirmation, then silence: a second STOP gets nothing.
    return None if already_out else ctx.reply("stopped")


def start(ctx: SmsContext, command: Command) -> str:
    is_new = ctx.subscriber is None
    subscriber = ctx.subscriber_or_create()
    _opt_in(ctx, subscriber, command.word, None)
    if is_new or not ctx.session.scalar(
        select(Membership.list_id).where(Membership.subscriber_id == subscriber.id).limit(1)
    ):
        _join_list(ctx, subscriber, ctx.config.org_name)
    return ctx.reply("restarted")


def help(ctx: SmsContext, command: Command) -> str | None:
    if _is_opted_out(ctx):
        return None
    return ctx.reply("help", language=command.language or ctx.language)


def zone(ctx: SmsContext, command: Command) -> str | None:
    subscriber = ctx.subscriber
    if subscriber is None or subscriber.status != "active":
        return _invite_or_silence(ctx)
    if command.language:
        subscriber.language = command.language
    found = zones.resolve(ctx.session, command.arg) if command.arg else None
    if found is not None:
        subscriber.zone_id = found.id
        return ctx.reply("zone_set", zone=found.name)
    # The known zones are listed only for a reply that needs them.
    known = zones.names(ctx.session)
    if not known:
        return ctx.reply("no_zones")
    if not command.arg:
        return ctx.reply("zone_missing", example=known[0])
    return ctx.reply("zone_unknown", given=command.arg[:30], known=", ".join(known[:12]))


def language(ctx: SmsContext, command: Command) -> str | None:
    subscriber = ctx.subscriber
    if subscriber is None or subscriber.status != "active":
        return _invite_or_silence(ctx)
    subscriber.language = command.language or "en"
    return ctx.reply("language_set")


def forget(ctx: SmsContext, command: Command) -> str | None:
    """Erase the person; keep only the keyed hash, marked opted out, so STOP keeps holding."""
    subscriber = ctx.subscriber_or_create(status="opted_out")
    language = command.language or subscriber.language
    already_forgotten = subscriber.forgotten_at is not None
    session = ctx.session
    session.execute(delete(Membership).where(Membership.subscriber_id == subscriber.id))
    session.execute(delete(ConsentEvent).where(ConsentEvent.subscriber_id == subscriber.id))
    session.execute(delete(Rsvp).where(Rsvp.subscriber_id == subscriber.id))
    session.execute(
        update(InboundMessage)
        .where(InboundMessage.phone_hash == ctx.phone_hash)
        .values(body_enc=None, reply_enc=None)
    )
    # Only one-off texts hold a number or body (a broadcast's rows point at the
    # subscriber and the broadcast). Saying so lets the unique (broadcast_id,
    # subscriber_id) index find them directly instead of reading all of it.
    session.execute(
        update(OutboundMessage)
        .where(
            OutboundMessage.broadcast_id.is_(None), OutboundMessage.subscriber_id == subscriber.id
        )
        .values(to_enc=None, body_enc=None)
    )
    _forget_reports(session, ctx.phone_hash)
    subscriber.phone_enc = None
    subscriber.zone_id = None
    subscriber.language = "en"
    subscriber.last_auto_reply_at = None
    subscriber.forgotten_at = ctx.now
    ctx.keep_body = False
    _opt_out(ctx, subscriber, command.word)
    return None if already_forgotten else ctx.reply("forgotten", language=language)


def _forget_reports(session: Session, phone_hash: str) -> None:
    """Their number and language leave the REPORTs they made, and the texts written to
    them about those lose number and body (one still queued is then skipped). The
    reports stay, since responders may be acting on them, and so does the keyed hash,
    which keeps the per-number REPORT limit."""
    reports = select(Alert.id).where(Alert.reporter_hash == phone_hash)
    told = select(AlertText.message_id).where(
        AlertText.alert_id.in_(reports), AlertText.kind == "notice"
    )
    session.execute(
        update(OutboundMessage)
        .where(
            OutboundMessage.id.in_(told),
            OutboundMessage.person_id.is_(None),
            OutboundMessage.subscriber_id.is_(None),
        )
        .values(to_enc=None, body_enc=None)
    )
    session.execute(
        update(Alert)
        .where(Alert.reporter_hash == phone_hash)
        .values(reporter_enc=None, reporter_language=None)
    )


def other(ctx: SmsContext, command: Command) -> str | None:
    """Kept for organizers to read; at most one auto-reply a day."""
    if _is_opted_out(ctx):
        return None
    since = ctx.now - AUTO_REPLY_EVERY
    subscriber = ctx.subscriber
    if subscriber is not None:
        # A subscriber's last auto-reply is on their row: no search of the inbox.
        last = subscriber.last_auto_reply_at
        if last is not None and last >= since:
            return None
        subscriber.last_auto_reply_at = ctx.now
        return ctx.reply("received")
    replied_recently = ctx.session.scalar(
        select(InboundMessage.id)
        .where(
            InboundMessage.phone_hash == ctx.phone_hash,
            InboundMessage.command == "other",
            InboundMessage.reply_enc.is_not(None),
            InboundMessage.received_at >= since,
            InboundMessage.message_sid != ctx.message_sid,
        )
        .limit(1)
    )
    return None if replied_recently else ctx.reply("not_subscribed")


def mark_unreachable(subscriber: Subscriber, error_code: int, now: datetime) -> None:
    """A permanent carrier answer (21610, landline, invalid) ends sends to this number."""
    if subscriber.status == "active":
        subscriber.status = "opted_out" if error_code == 21610 else "unreachable"
        subscriber.status_changed_at = now


def _opt_in(ctx: SmsContext, subscriber: SenderRecord, word: str, list_id: int | None) -> None:
    if subscriber.status != "active" or subscriber.forgotten_at is not None:
        subscriber.status = "active"
        subscriber.status_changed_at = ctx.now
        subscriber.forgotten_at = None
        subscriber.phone_enc = ctx.vault.encrypt(ctx.phone)
    _consent(ctx, subscriber, "opt_in", word, list_id)


def _opt_out(ctx: SmsContext, subscriber: SenderRecord, word: str) -> None:
    subscriber.status = "opted_out"
    subscriber.status_changed_at = ctx.now
    _consent(ctx, subscriber, "opt_out", word, None)


def _join_list(ctx: SmsContext, subscriber: SenderRecord, name: str) -> tuple[int, bool]:
    """Add the subscriber to the list called `name`, creating the list if it is new.

    Returns the list's id and whether the subscriber was added (False: on it already).
    The usual case, a list that exists and a new member, is one statement that finds
    the list and adds the member; a member already on it costs one look-up more.
    """
    by_name, _ = _membership_inserts(ctx.session.get_bind().dialect.name)
    added = ctx.session.execute(
        by_name, {"subscriber_id": subscriber.id, "joined_at": ctx.now, "name": name}
    ).scalar()
    if added is not None:
        return added, True
    # Nothing added: the subscriber is on the list already, or there is no such list yet.
    existing = ctx.session.scalar(select(CampaignList.id).where(CampaignList.name == name))
    if existing is not None:
        return existing, False
    campaign = keywords.get_or_create_list(ctx.session, name)
    return campaign.id, _add_member(ctx, subscriber, campaign.id)


def _add_member(ctx: SmsContext, subscriber: SenderRecord, list_id: int) -> bool:
    """Add the subscriber to the list; False if they were on it already."""
    _, by_id = _membership_inserts(ctx.session.get_bind().dialect.name)
    added = ctx.session.execute(
        by_id, {"subscriber_id": subscriber.id, "list_id": list_id, "joined_at": ctx.now}
    ).scalar()
    return added is not None


@cache
def _membership_inserts(dialect: str) -> tuple[Any, Any]:
    """The two ways JOIN adds a member (to the list called `name`, to the list `list_id`),
    built once per database: JOIN is the busiest command and building them showed."""
    memberships, lists = Membership.__table__, CampaignList.__table__
    add = insert_or_ignore_in(dialect, memberships, "subscriber_id", "list_id")
    named = select(
        bindparam("subscriber_id", type_=Integer),
        lists.c.id,
        bindparam("joined_at", type_=UTCDateTime()),
    ).where(lists.c.name == bindparam("name"))
    by_name = add.from_select(["subscriber_id", "list_id", "joined_at"], named)
    return (
        by_name.returning(memberships.c.list_id),
        add.returning(memberships.c.list_id),
    )


def _consent(
    ctx: SmsContext, subscriber: SenderRecord, kind: str, word: str, list_id: int | None
) -> None:
    ctx.session.execute(
        _NEW_CONSENT,
        {
            "subscriber_id": subscriber.id,
            "kind": kind,
            "keyword": word,
            "source": "sms",
            "message_sid": ctx.message_sid,
            "list_id": list_id,
            "at": ctx.now,
        },
    )


def _is_opted_out(ctx: SmsContext) -> bool:
    return ctx.subscriber is not None and ctx.subscriber.status != "active"


def _invite_or_silence(ctx: SmsContext) -> str | None:
    return None if _is_opted_out(ctx) else ctx.reply("not_subscribed")
