"""What became of each page, and skipping a tier nobody can be reached in.

A page Twilio refused (failed at send time), one its status callback reports
failed or undelivered, and one skipped at claim time (opted out, gone off
call, alert closed) did not reach anyone. When no page of the current step
can still arrive, the tier's wait is cut short: ``next_escalation_at`` is set
to now (fenced by the step), and the next sweep pages the next tier instead of
waiting out the timeout for nobody.

The outcome is settled once per page by a conditional UPDATE, whichever path
sees it first: the ledger listener (status callbacks), the send job (errors at
send time) or the sweep (the backstop for both).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from service.domain.alerts import timeline
from service.domain.alerts.paging import PAGE
from service.models import Alert, AlertText, OutboundMessage, Person

NOT_DELIVERED = frozenset({"failed", "undelivered", "skipped"})
# How far back the sweep looks for pages whose outcome was missed.
LOOKBACK = timedelta(hours=1)


def outcome_of(ledger_status: str) -> str | None:
    if ledger_status == "delivered":
        return "delivered"
    if ledger_status in NOT_DELIVERED:
        return "failed"
    return None  # still on its way, or unknown (it may have arrived)


def settle(session: Session, message: OutboundMessage, now: datetime) -> int | None:
    """Record a page's outcome once. Returns the alert id if its tier is now due at once."""
    outcome = outcome_of(message.status)
    if outcome is None or message.purpose != PAGE:
        return None
    text = session.scalar(select(AlertText).where(AlertText.message_id == message.id))
    if text is None:
        return None
    won = session.execute(
        update(AlertText)
        .where(AlertText.id == text.id, AlertText.outcome.is_(None))
        .values(outcome=outcome)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not won:
        return None
    person = session.get(Person, text.person_id) if text.person_id else None
    name = timeline.name_of(person)
    if outcome == "delivered":
        timeline.record(
            session,
            text.alert_id,
            "delivered",
            now,
            f"page delivered to {name}",
            step=text.step,
            person_id=text.person_id,
        )
        return None
    why = f"error {message.error_code}" if message.error_code else message.status
    timeline.record(
        session,
        text.alert_id,
        "not_delivered",
        now,
        f"page to {name} not delivered ({why})",
        step=text.step,
        person_id=text.person_id,
    )
    return _cut_short_if_unreachable(session, text.alert_id, text.step, now)


def _cut_short_if_unreachable(
    session: Session, alert_id: int, step: int | None, now: datetime
) -> int | None:
    still_possible = session.scalar(
        select(func.count())
        .select_from(AlertText)
        .where(
            AlertText.alert_id == alert_id,
            AlertText.step == step,
            AlertText.kind == "page",
            (AlertText.outcome.is_(None)) | (AlertText.outcome == "delivered"),
        )
    )
    if still_possible:
        return None
    cut = session.execute(
        update(Alert)
        .where(
            Alert.id == alert_id,
            Alert.step == step,
            Alert.status == "open",
            Alert.next_escalation_at > now,
        )
        .values(next_escalation_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not cut:
        return None
    timeline.record(
        session,
        alert_id,
        "skipping",
        now,
        "no page of this tier can arrive; escalating now",
        step=step,
    )
    return alert_id


def on_ledger_status(session: Session, message: OutboundMessage, now: datetime) -> None:
    """delivery.listen hook for pages: a status callback moved a page's ledger row."""
    settle(session, message, now)


def unsettled_final(session: Session, now: datetime, limit: int = 200) -> list[OutboundMessage]:
    """Pages whose ledger status is final but whose outcome nobody recorded yet."""
    return list(
        session.scalars(
            select(OutboundMessage)
            .join(AlertText, AlertText.message_id == OutboundMessage.id)
            .where(
                AlertText.kind == "page",
                AlertText.outcome.is_(None),
                AlertText.created_at > now - LOOKBACK,
                OutboundMessage.status.in_(NOT_DELIVERED | {"delivered"}),
            )
            .limit(limit)
        )
    )


def skip_closed_or_off_call(session: Session, message: OutboundMessage) -> str | None:
    """sending.SKIP_CHECKS hook: no page for a closed alert or to someone gone off call."""
    if message.purpose != PAGE:
        return None
    alert_status = session.scalar(
        select(Alert.status)
        .join(AlertText, AlertText.alert_id == Alert.id)
        .where(AlertText.message_id == message.id)
    )
    if alert_status == "closed":
        return "alert closed"
    if message.person_id is not None:
        person = session.get(Person, message.person_id)
        if person is not None and not person.on_call:
            return "responder went off call"
    return None
