"""The rapid-response commands people text, by name: (roles allowed or None for anyone, handler)."""

from __future__ import annotations

from service.domain import audit, zones
from service.domain.alerts import escalation, reply_codes, reporting, responses
from service.domain.alerts.paging import zone_suffix
from service.domain.alerts.replies import render
from service.domain.commands import CommandTable
from service.domain.context import Effect, SmsContext
from service.models.people import ROLES
from service.queues import ALERTS
from service.sms.parser import Command

SEND_JOB = "workers.alerts.send_alert_text"  # one text (re-drives)
SEND_BATCH_JOB = "workers.alerts.send_alert_texts"  # a tier's pages at once
BATCH = 50


def send_effects(message_ids: list[int]) -> list[Effect]:
    """Jobs on the `alerts` queue (served before broadcasts), BATCH texts each: a
    worker sends its share all at once; a bigger tier is shared among workers."""
    return [
        Effect(ALERTS, SEND_BATCH_JOB, (chunk,), job_id=f"alert-texts-{chunk[0]}")
        for chunk in (message_ids[i : i + BATCH] for i in range(0, len(message_ids), BATCH))
    ]


def alert(ctx: SmsContext, command: Command) -> str:
    org = ctx.config.org_name
    if not command.arg:
        return render("alert_empty", org=org)
    zone_id = None
    if command.zone:
        zone = zones.resolve(ctx.session, command.zone)
        if zone is None:
            known = ", ".join(zones.names(ctx.session)[:12]) or "none yet"
            return render("alert_zone_unknown", org=org, given=command.zone[:30], known=known)
        zone_id = zone.id
    in_zone = zone_suffix(ctx.session, zone_id, prefix=" in ")
    if not escalation.has_anyone_on_call(ctx.session, "responder", zone_id):
        return render("alert_nobody", org=org, zone=in_zone)
    opened, step = escalation.open_alert(
        ctx.session,
        ctx.vault,
        ctx.config,
        kind="alert",
        message=command.arg,
        now=ctx.now,
        zone_id=zone_id,
        opened_by=ctx.person,
    )
    ctx.effects.extend(send_effects(step.message_ids))
    audit.by_text(
        ctx.session,
        ctx.person,
        "alert.open",
        ctx.now,
        target=f"alert:{opened.id}",
        recipients=len(step.paged),
    )
    return render(
        "alert_opened", org=org, id=opened.id, count=len(step.paged), tier=step.tier, zone=in_zone
    )


def report(ctx: SmsContext, command: Command) -> str | None:
    language = command.language or ctx.language
    org = ctx.config.org_name
    # An opted-out number is still heard (it may be an emergency) but never answered.
    silent = ctx.subscriber is not None and ctx.subscriber.status != "active"
    if not command.arg:
        return None if silent else render("report_empty", language, org=org)
    wait = reporting.wait_before_next(ctx.session, ctx.phone_hash, ctx.now)
    if wait:
        minutes = int(reporting.REPORT_EVERY.total_seconds() // 60)
        return (
            None
            if silent
            else render("report_limited", language, org=org, minutes=minutes, wait=wait)
        )
    _, step = escalation.open_alert(
        ctx.session,
        ctx.vault,
        ctx.config,
        kind="report",
        message=command.arg,
        now=ctx.now,
        opened_by=ctx.person,
        reporter_phone=ctx.phone,
        reporter_language=language,
    )
    ctx.effects.extend(send_effects(step.message_ids))
    return None if silent else render("report_received", language, org=org)


def reply_code(ctx: SmsContext, command: Command) -> str:
    person = ctx.person
    assert person is not None  # the command table lets only registered people here
    org = ctx.config.org_name
    target = responses.resolve(ctx.session, person, command.number)
    if target is None:
        if command.number is None:
            return render("nothing_to_ack", org=org)
        codes = reply_codes.open_codes(ctx.session, person.id)
        open_list = (
            render("open_list", codes=", ".join(str(c) for c in codes))
            if codes
            else render("no_open")
        )
        return render("no_such_code", org=org, n=command.number, open_list=open_list)
    act = {"A": responses.acknowledge, "C": responses.close, "E": responses.escalate}
    answer = act[command.action or "A"](ctx.session, ctx.vault, ctx.config, person, target, ctx.now)
    ctx.effects.extend(send_effects(answer.message_ids))
    action = {"A": "acknowledge", "C": "close", "E": "escalate"}[command.action or "A"]
    audit.by_text(
        ctx.session,
        person,
        f"alert.{action}",
        ctx.now,
        target=f"alert:{target.alert.id}",
        recipients=len(answer.message_ids),
    )
    return answer.reply


def oncall(ctx: SmsContext, command: Command) -> str:
    """ONCALL, or ONCALL <zone> to be paged for that zone's alerts."""
    person = ctx.person
    assert person is not None
    org = ctx.config.org_name
    given = command.arg.lstrip("@").strip()
    if given:
        zone = zones.resolve(ctx.session, given)
        if zone is None:
            known = ", ".join(zones.names(ctx.session)[:12]) or "none yet"
            return render("alert_zone_unknown", org=org, given=given[:30], known=known)
        person.zone_id = zone.id
    person.on_call = True
    return render(
        "oncall", org=org, tier=person.tier, zone=zone_suffix(ctx.session, person.zone_id, ", ")
    )


def offcall(ctx: SmsContext, command: Command) -> str:
    person = ctx.person
    assert person is not None
    person.on_call = False
    return render("offcall", org=ctx.config.org_name)


PAGED_ROLES = frozenset(ROLES)  # anyone registered may hold a reply code
ON_CALL_ROLES = frozenset({"responder", "dispatcher"})

HANDLERS: CommandTable = {
    "alert": (frozenset({"organizer", "dispatcher"}), alert),
    "report": (None, report),
    "reply_code": (PAGED_ROLES, reply_code),
    "oncall": (ON_CALL_ROLES, oncall),
    "offcall": (ON_CALL_ROLES, offcall),
}
