"""Putting an alert's texts in the send ledger: pages (with reply codes) and notices.

Nothing is sent here. Each text is a ledger row (purpose "page" or "alert")
plus an AlertText linking it to the alert; the caller hands the ids to the
`alerts` queue once the transaction has committed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.config import Config
from service.domain.alerts import reply_codes
from service.domain.alerts.replies import render, snippet
from service.domain.sending import queue_notice
from service.models import Alert, AlertText, OutboundMessage, Person, Zone
from service.vault import Vault

PAGE = "page"  # ledger purpose of a page
NOTICE = "alert"  # ledger purpose of every other alert text


def message_of(vault: Vault, alert: Alert) -> str:
    return vault.decrypt(alert.body_enc) if alert.body_enc else ""


def zone_suffix(session: Session, zone_id: int | None, prefix: str = " @") -> str:
    zone = session.get(Zone, zone_id) if zone_id is not None else None
    return f"{prefix}{zone.name}" if zone else ""


def page(
    session: Session,
    vault: Vault,
    config: Config,
    alert: Alert,
    people: list[Person],
    step: int,
    now: datetime,
) -> list[int]:
    """Queue one page per person for this step; returns the ledger ids."""
    codes = reply_codes.assign_many(session, [p.id for p in people], alert.id, now)
    label = "ALERT" if alert.kind == "alert" else "REPORT (unverified)"
    if alert.cycle > 0:
        label += f", STILL UNANSWERED (page {alert.cycle + 1})"
    message = message_of(vault, alert)
    zone = zone_suffix(session, alert.zone_id)
    rows = [
        OutboundMessage(
            purpose=PAGE,
            person_id=person.id,
            body_enc=vault.encrypt(
                render(
                    "page",
                    org=config.org_name,
                    label=label,
                    zone=zone,
                    message=message,
                    n=codes[person.id],
                )
            ),
            status="queued",
            created_at=now,
            updated_at=now,
        )
        for person in people
    ]
    session.add_all(rows)
    session.flush()
    session.add_all(
        AlertText(
            alert_id=alert.id,
            message_id=row.id,
            kind="page",
            person_id=row.person_id,
            step=step,
            tier=alert.tier,
            created_at=now,
        )
        for row in rows
    )
    session.flush()
    return [row.id for row in rows]


def notice(
    session: Session,
    vault: Vault,
    alert: Alert,
    body: str,
    now: datetime,
    *,
    person: Person | None = None,
    to: str | None = None,
) -> int:
    """Queue one alert notice to a person or a bare number; returns the ledger id."""
    row = queue_notice(session, vault, body, person=person, to=to, purpose=NOTICE, now=now)
    session.add(
        AlertText(
            alert_id=alert.id,
            message_id=row.id,
            kind="notice",
            person_id=row.person_id,
            created_at=now,
        )
    )
    return row.id


def paged_people(session: Session, alert_id: int) -> list[Person]:
    """Everyone paged for this alert so far, in the order they were first paged."""
    ids = session.scalars(
        select(AlertText.person_id)
        .where(AlertText.alert_id == alert_id, AlertText.kind == "page")
        .group_by(AlertText.person_id)
        .order_by(func.min(AlertText.id))
    )
    return _people(session, [i for i in ids if i is not None])


def _people(session: Session, ids: list[int]) -> list[Person]:
    if not ids:
        return []
    found = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def tell_everyone(
    session: Session,
    vault: Vault,
    alert: Alert,
    now: datetime,
    template: str,
    org: str,
    *,
    but: int | None,
    **values: str,
) -> list[int]:
    """One notice to everyone paged and to whoever opened the alert, except ``but``.

    Each paged person reads the alert by their own reply code; the opener by its #id.
    """
    codes = reply_codes.codes_for_alert(session, alert.id)
    people = paged_people(session, alert.id)
    if alert.opened_by_id is not None and all(p.id != alert.opened_by_id for p in people):
        opener = session.get(Person, alert.opened_by_id)
        if opener is not None:
            people.append(opener)
    text = snippet(message_of(vault, alert))
    ids = []
    for person in people:
        if person.id == but:
            continue
        ref = f"alert {codes[person.id]}" if person.id in codes else f"alert #{alert.id}"
        body = render(template, org=org, ref=ref, snippet=text, **values)
        ids.append(notice(session, vault, alert, body, now, person=person))
    return ids
