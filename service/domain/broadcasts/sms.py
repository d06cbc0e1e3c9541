"""The broadcast commands people text, by name: (roles allowed or None for anyone, handler).

Handlers are thin: parse what the organizer typed, call the domain, render the reply.
A refused command answers with the reason; nothing is half written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from service.domain import audit
from service.domain.broadcasts import control, notices, preview, rsvp
from service.domain.broadcasts.errors import Refused
from service.domain.broadcasts.replies import render
from service.domain.commands import CommandTable
from service.domain.context import Effect, SmsContext
from service.sms.parser import Command

ORGANIZERS = frozenset({"organizer"})
QUEUE = "broadcasts"  # service.queues.BROADCASTS (the domain does not import RQ)
EXCERPT_CHARS = 80


def bcast(ctx: SmsContext, command: Command) -> str:
    text, urgent = _urgent(command.arg)
    return _preview(ctx, "bcast", text, zone=command.zone, urgent=urgent)


def move(ctx: SmsContext, command: Command) -> str:
    return _preview(ctx, "move", command.arg)


def meet(ctx: SmsContext, command: Command) -> str:
    text, urgent = _urgent(command.arg)
    return _preview(ctx, "meet", text, urgent=urgent)


def send(ctx: SmsContext, command: Command) -> str:
    assert ctx.person is not None
    try:
        broadcast = preview.confirm(ctx.session, ctx.person, command.arg, ctx.config, ctx.now)
    except Refused as refused:
        return _say(ctx, refused.reply, **refused.values)
    audit.by_text(
        ctx.session,
        ctx.person,
        "broadcast.confirm",
        ctx.now,
        target=f"broadcast:{broadcast.id}",
        recipients=broadcast.recipients_estimate,
    )
    ctx.effects.append(
        Effect(
            QUEUE,
            "workers.broadcasts.advance",
            (broadcast.id,),
            job_id=f"broadcast-{broadcast.id}-advance",
        )
    )
    if broadcast.send_at is not None and broadcast.send_at > ctx.now:
        return _say(
            ctx, "scheduled", id=broadcast.id, at=_local(ctx, broadcast.send_at), why="quiet hours"
        )
    return _say(ctx, "sending", id=broadcast.id, count=broadcast.recipients_estimate)


def abort(ctx: SmsContext, command: Command) -> str:
    wanted = command.arg.strip().lstrip("#")
    try:
        result = control.abort(ctx.session, ctx.now, int(wanted) if wanted.isdigit() else None)
    except Refused as refused:
        return _say(ctx, refused.reply, **refused.values)
    audit.by_text(
        ctx.session,
        ctx.person,
        "broadcast.abort",
        ctx.now,
        target=f"broadcast:{result.broadcast.id}",
        recipients=result.sent,
        detail=f"{result.sent} sent before the stop",
    )
    return _say(ctx, "aborted", id=result.broadcast.id, sent=result.sent)


def status(ctx: SmsContext, command: Command) -> str:
    result = control.latest(ctx.session)
    if result is None:
        return _say(ctx, "status_none")
    broadcast = result.broadcast
    state = broadcast.state
    if state == "scheduled" and broadcast.send_at is not None:
        # Planned recipients and still scheduled: quiet hours paused it mid-send.
        waiting = "paused for quiet hours until" if result.counts else "scheduled for"
        state = f"{waiting} {_local(ctx, broadcast.send_at)}"
    extra = ""
    if unknown := result.count("unknown"):
        extra += f", {unknown} unknown (may or may not have arrived)"
    if skipped := result.count("skipped"):
        extra += f", {skipped} not sent (opted out or stopped)"
    if result.rsvps is not None:
        extra += f", {result.rsvps} RSVP"
    return _say(
        ctx,
        "status",
        id=broadcast.id,
        kind=broadcast.kind.upper(),
        state=state,
        queued=result.count("queued", "claimed"),
        sent=result.sent,
        delivered=result.count("delivered"),
        failed=result.count("failed", "undelivered"),
        extra=extra,
    )


def rsvp_reply(ctx: SmsContext, command: Command) -> str | None:
    subscriber = ctx.subscriber
    if subscriber is not None and subscriber.status != "active":
        return None  # STOP wins: nothing but the one confirmation
    outcome = "nothing" if subscriber is None else rsvp.record(ctx.session, subscriber.id, ctx.now)
    return render(f"rsvp_{outcome}", ctx.language, org=ctx.config.org_name)


def _preview(
    ctx: SmsContext, kind: str, text: str, *, zone: str | None = None, urgent: bool = False
) -> str:
    text = text.strip()
    if not text:
        return _say(ctx, f"usage_{kind}")
    default, _ = notices.compose(kind, text, ctx.config.org_name)
    try:
        result = preview.create_notice(
            ctx.session,
            ctx.vault,
            ctx.config,
            ctx.person,
            kind,
            text,
            ctx.now,
            zone=zone,
            urgent=urgent,
        )
    except Refused as refused:
        return _say(ctx, refused.reply, **refused.values)
    audit.by_text(
        ctx.session,
        ctx.person,
        f"broadcast.{kind}",
        ctx.now,
        target=f"broadcast:{result.broadcast.id}",
        recipients=result.recipients,
    )
    when = ""
    if result.starts_at > ctx.now:
        when = f"Quiet hours: it would go out at {_local(ctx, result.starts_at)}. "
    excerpt = default if len(default) <= EXCERPT_CHARS else default[: EXCERPT_CHARS - 3] + "..."
    return _say(
        ctx,
        "preview",
        id=result.broadcast.id,
        kind=kind.upper() + (" (urgent)" if result.broadcast.urgent else ""),
        audience=result.audience,
        count=result.recipients,
        segments=result.broadcast.segments,
        encoding=result.segments.encoding,
        cost=f"{result.cost:.2f}",
        when=when,
        excerpt=excerpt,
        code=result.broadcast.code,
    )


def _urgent(text: str) -> tuple[str, bool]:
    """BCAST URGENT <message>: the first word marks it urgent (ignores quiet hours)."""
    first, _, rest = text.strip().partition(" ")
    if first.upper().strip("!:,.") in {"URGENT", "URGENTE"}:
        return rest.strip(), True
    return text, False


def _local(ctx: SmsContext, moment: datetime) -> str:
    local = moment.astimezone(ctx.config.timezone)
    today = ctx.now.astimezone(ctx.config.timezone).date()
    return local.strftime("%H:%M") if local.date() == today else local.strftime("%a %H:%M")


def _say(ctx: SmsContext, name: str, **values: Any) -> str:
    return render(name, "en", org=ctx.config.org_name, **values)


HANDLERS: CommandTable = {
    "bcast": (ORGANIZERS, bcast),
    "move": (ORGANIZERS, move),
    "meet": (ORGANIZERS, meet),
    "send": (ORGANIZERS, send),
    "abort": (ORGANIZERS, abort),
    "status": (ORGANIZERS, status),
    "rsvp": (None, rsvp_reply),
}
