"""Escalation: open an alert, page tier by tier, repeat, give up and tell the organizers.

The time the current tier runs out is a column (``next_escalation_at``), not
an RQ schedule: the clock sweep (`fire_due`, every second or two) advances
whatever is due, so a worker that died after paging tier 1 cannot stop tier 2.

Every advance is fenced by the alert's ``step`` (Grafana OnCall's fencing id,
GoAlert's conditional update): it is one UPDATE that matches only the step it
read, the tier's due time and an open status, and moves the step on. Two
sweeps, a retried job or a restarted worker race for that UPDATE; one wins and
pages, the others match no row and do nothing. An acknowledgement or a close
moves the step too, so an escalation already under way for the old step loses.
On PostgreSQL the sweep also takes the due rows FOR UPDATE SKIP LOCKED, so
concurrent sweeps split the work instead of queueing behind each other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.config import Config
from service.domain.alerts import paging, roster, timeline
from service.domain.alerts.replies import render, snippet
from service.models import Alert, Person
from service.vault import Vault

log = logging.getLogger(__name__)

SWEEP_BATCH = 50


@dataclass
class Step:
    """What one advance did: the tier paged (None when the tiers ran out) and texts to send."""

    tier: int | None
    paged: list[Person] = field(default_factory=list)
    message_ids: list[int] = field(default_factory=list)

    @property
    def exhausted(self) -> bool:
        return self.tier is None


def open_alert(
    session: Session,
    vault: Vault,
    config: Config,
    *,
    kind: str,
    message: str,
    now: datetime,
    zone_id: int | None = None,
    opened_by: Person | None = None,
    reporter_phone: str | None = None,
    reporter_language: str | None = None,
) -> tuple[Alert, Step]:
    """Open an alert (kind "alert": responders; "report": dispatchers) and page its first tier."""
    alert = Alert(
        kind=kind,
        audience="responder" if kind == "alert" else "dispatcher",
        status="open",
        zone_id=zone_id,
        body_enc=vault.encrypt(message),
        opened_by_id=opened_by.id if opened_by else None,
        reporter_hash=vault.lookup_hash(reporter_phone) if reporter_phone else None,
        reporter_enc=vault.encrypt(reporter_phone) if reporter_phone else None,
        reporter_language=reporter_language,
        tier=0,
        cycle=0,
        step=0,
        created_at=now,
        updated_at=now,
    )
    session.add(alert)
    session.flush()
    who = (
        f"by {timeline.name_of(opened_by)} ({opened_by.role})"
        if opened_by
        else "by a texted REPORT"
    )
    zone = paging.zone_suffix(session, zone_id, prefix=" in zone ")
    timeline.record(session, alert.id, "opened", now, f"{kind} opened {who}{zone}", step=0)
    step = advance(session, vault, config, alert.id, 0, now, due_only=False)
    assert step is not None  # nobody else can know this alert yet
    return alert, step


def has_anyone_on_call(session: Session, role: str, zone_id: int | None) -> bool:
    return bool(roster.tiers(session, roster.Audience(role, zone_id)))


def advance(
    session: Session,
    vault: Vault,
    config: Config,
    alert_id: int,
    expected_step: int,
    now: datetime,
    *,
    due_only: bool = True,
) -> Step | None:
    """Page the next tier (or repeat, or give up) if the alert is still at ``expected_step``.

    None when another process got there first, or the alert was acknowledged or
    closed meanwhile: the fenced UPDATE matched no row and nothing was written.
    """
    alert = session.get(Alert, alert_id, populate_existing=True)
    if alert is None or alert.step != expected_step or alert.status != "open":
        return None
    audience = roster.Audience.of(alert)
    tiers = roster.tiers(session, audience)
    plan = _next(alert, tiers, config.escalation_repeat)
    previous_cycle = alert.cycle
    values: dict[str, object] = {"step": expected_step + 1, "updated_at": now}
    if plan is None:
        values.update(status="unanswered", next_escalation_at=None)
    else:
        tier, cycle = plan
        values.update(
            tier=tier,
            cycle=cycle,
            next_escalation_at=now + timedelta(seconds=config.escalation_timeout_seconds),
        )
    fence = [Alert.id == alert_id, Alert.step == expected_step, Alert.status == "open"]
    if due_only:
        fence.append(Alert.next_escalation_at <= now)
    won = session.execute(
        update(Alert).where(*fence).values(**values).execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        return None
    session.refresh(alert)
    step_no = alert.step
    if plan is None:
        return Step(None, message_ids=_give_up(session, vault, config, alert, tiers, now))
    people = roster.in_tier(session, audience, alert.tier)
    ids = paging.page(session, vault, config, alert, people, step_no, now)
    if expected_step == 0:
        kind, what = "paged", f"tier {alert.tier} paged"
    elif alert.cycle > previous_cycle:
        kind, what = "repeated", f"round {alert.cycle + 1}: tier {alert.tier} paged again"
    else:
        kind, what = "escalated", f"escalated to tier {alert.tier}"
    timeline.record(
        session,
        alert.id,
        kind,
        now,
        f"{what}: {timeline.names(people)}",
        step=step_no,
    )
    return Step(alert.tier, people, ids)


def _next(alert: Alert, tiers: list[int], repeat: int) -> tuple[int, int] | None:
    """(tier, cycle) to page next, or None when the tiers and repeats are used up."""
    if not tiers:
        return None
    if alert.step == 0:
        return tiers[0], 0
    higher = [t for t in tiers if t > alert.tier]
    if higher:
        return higher[0], alert.cycle
    if alert.cycle < repeat:
        return tiers[0], alert.cycle + 1
    return None


def _give_up(
    session: Session,
    vault: Vault,
    config: Config,
    alert: Alert,
    tiers: list[int],
    now: datetime,
) -> list[int]:
    """Nobody acknowledged (or nobody is on call): tell the organizers and whoever opened it."""
    if not tiers:
        why = f"no {alert.audience} is on call"
    else:
        rounds = alert.cycle + 1
        why = f"nobody acknowledged after {rounds} round{'s' if rounds > 1 else ''} of paging"
    people = roster.organizers(session)
    if alert.opened_by_id is not None and all(p.id != alert.opened_by_id for p in people):
        opener = session.get(Person, alert.opened_by_id)
        if opener is not None:
            people.append(opener)
    body = render(
        "unanswered",
        org=config.org_name,
        id=alert.id,
        why=why,
        snippet=snippet(paging.message_of(vault, alert)),
    )
    ids = [paging.notice(session, vault, alert, body, now, person=p) for p in people]
    timeline.record(
        session,
        alert.id,
        "unanswered",
        now,
        f"unanswered: {why}; told {timeline.names(people)}",
        step=alert.step,
    )
    return ids


def due(
    session: Session, now: datetime, alert_ids: list[int] | None = None, limit: int = SWEEP_BATCH
) -> list[tuple[int, int]]:
    """(alert id, step) of alerts whose tier ran out, locked for this sweep on PostgreSQL."""
    query = (
        select(Alert.id, Alert.step)
        .where(Alert.next_escalation_at <= now, Alert.status == "open")
        .order_by(Alert.next_escalation_at)
        .limit(limit)
    )
    if alert_ids is not None:
        query = query.where(Alert.id.in_(alert_ids))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [(alert_id, step) for alert_id, step in session.execute(query)]


def fire_due(
    session: Session,
    vault: Vault,
    config: Config,
    now: datetime,
    *,
    alert_ids: list[int] | None = None,
) -> list[int]:
    """Advance every due alert (or only those given); returns the texts to send."""
    message_ids: list[int] = []
    for alert_id, step in due(session, now, alert_ids):
        try:
            with session.begin_nested():
                result = advance(session, vault, config, alert_id, step, now)
        except Exception:
            # One broken alert must not hold up every other alert's escalation.
            log.exception("escalating alert %s failed; retried next sweep", alert_id)
            continue
        if result is not None:
            message_ids.extend(result.message_ids)
    return message_ids


def escalate_now(
    session: Session, vault: Vault, config: Config, alert_id: int, now: datetime, reason: str
) -> Step | None:
    """A responder asked for the next tier: re-open an acknowledged alert and advance it."""
    alert = session.get(Alert, alert_id, populate_existing=True)
    if alert is None or alert.status not in ("open", "acknowledged"):
        return None
    step = alert.step
    if alert.status == "acknowledged":
        reopened = session.execute(
            update(Alert)
            .where(Alert.id == alert_id, Alert.step == step, Alert.status == "acknowledged")
            .values(status="open", acked_by_id=None, acked_at=None, updated_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not reopened:
            return None
    timeline.record(session, alert_id, "escalate", now, reason, step=step)
    return advance(session, vault, config, alert_id, step, now, due_only=False)
