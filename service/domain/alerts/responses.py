"""What a paged person can do with their reply code: acknowledge, close, escalate.

Each is one conditional UPDATE on the alert that also moves its fencing step,
so the first acknowledgement wins (later ones are told who has it) and any
escalation already under way for the old step does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.config import Config
from service.domain.alerts import escalation, paging, reply_codes, timeline
from service.domain.alerts.replies import render
from service.models import Alert, AlertText, Person
from service.vault import Vault


@dataclass
class Answer:
    reply: str
    message_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Target:
    """The alert a reply code points at, and the code the person knows it by."""

    alert: Alert
    number: int


def resolve(session: Session, person: Person, number: int | None) -> Target | None:
    """The person's code ``number``, or with no number the latest alert they were paged for."""
    if number is None:
        alert_id = session.scalar(
            select(AlertText.alert_id)
            .where(AlertText.person_id == person.id, AlertText.kind == "page")
            .order_by(AlertText.id.desc())
            .limit(1)
        )
        if alert_id is None:
            return None
        number = reply_codes.code_of(session, person.id, alert_id)
        if number is None:
            return None  # its code was released and reused: that alert is long closed
    code = reply_codes.lookup(session, person.id, number)
    if code is None:
        return None
    alert = session.get(Alert, code.alert_id, populate_existing=True)
    return Target(alert, number) if alert is not None else None


def acknowledge(
    session: Session, vault: Vault, config: Config, person: Person, target: Target, now: datetime
) -> Answer:
    alert, n = target.alert, target.number
    org = config.org_name
    won = session.execute(
        update(Alert)
        .where(Alert.id == alert.id, Alert.status.in_(("open", "unanswered")))
        .values(
            status="acknowledged",
            acked_by_id=person.id,
            acked_at=now,
            next_escalation_at=None,
            step=Alert.step + 1,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(alert)
    if not won:
        if alert.status == "closed":
            return Answer(render("already_closed", org=org, n=n))
        if alert.acked_by_id == person.id:
            return Answer(render("already_acked_you", org=org, n=n))
        acker = session.get(Person, alert.acked_by_id) if alert.acked_by_id else None
        return Answer(render("already_acked", org=org, n=n, name=timeline.name_of(acker)))
    name = timeline.name_of(person)
    timeline.record(
        session,
        alert.id,
        "acked",
        now,
        f"acknowledged by {name}",
        step=alert.step,
        person_id=person.id,
    )
    ids = paging.tell_everyone(
        session, vault, alert, now, "responding", org, but=person.id, name=name
    )
    return Answer(render("acked", org=org, n=n), ids)


def close(
    session: Session,
    vault: Vault,
    config: Config,
    person: Person | None,
    target: Target,
    now: datetime,
) -> Answer:
    """Close the alert; tell whoever reported it that responders are on it (never who)."""
    alert, n = target.alert, target.number
    org = config.org_name
    won = session.execute(
        update(Alert)
        .where(Alert.id == alert.id, Alert.status != "closed")
        .values(
            status="closed",
            closed_by_id=person.id if person else None,
            closed_at=now,
            next_escalation_at=None,
            step=Alert.step + 1,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(alert)
    if not won:
        return Answer(render("already_closed", org=org, n=n))
    reply_codes.release(session, alert.id, now)
    name = timeline.name_of(person) if person else "an organizer"
    timeline.record(
        session,
        alert.id,
        "closed",
        now,
        f"closed by {name}",
        step=alert.step,
        person_id=person.id if person else None,
    )
    ids = paging.tell_everyone(
        session,
        vault,
        alert,
        now,
        "closed_notice",
        org,
        but=person.id if person else None,
        name=name,
    )
    if alert.reporter_enc is not None:
        body = render("report_closed", alert.reporter_language or "en", org=org)
        ids.append(
            paging.notice(session, vault, alert, body, now, to=vault.decrypt(alert.reporter_enc))
        )
        timeline.record(session, alert.id, "notified", now, "reporter told responders are on it")
    return Answer(render("closed", org=org, n=n), ids)


def escalate(
    session: Session, vault: Vault, config: Config, person: Person, target: Target, now: datetime
) -> Answer:
    alert, n = target.alert, target.number
    org = config.org_name
    if alert.status == "closed":
        return Answer(render("already_closed", org=org, n=n))
    if alert.status == "unanswered":
        return Answer(render("escalate_unanswered", org=org, n=n))
    step = escalation.escalate_now(
        session, vault, config, alert.id, now, f"escalation asked by {timeline.name_of(person)}"
    )
    if step is None:
        return Answer(render("escalate_raced", org=org, n=n))
    if step.exhausted:
        return Answer(render("escalate_exhausted", org=org, n=n), step.message_ids)
    return Answer(render("escalated", org=org, n=n, tier=step.tier), step.message_ids)
