"""Rapid-response jobs: send one alert text, and the escalation sweep the clock runs.

Both run on the `alerts` queue, which workers serve before `broadcasts`, and
pages take the rate limiter's priority lane, so a page never waits behind a
bulk broadcast. Both are safe to run twice: a text is claimed in the ledger
before it is sent, and every escalation step is fenced (see
service/domain/alerts/escalation.py).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

import service.domain.alerts  # noqa: F401  (hooks the alert engine into the ledger)
from service.domain import sending
from service.domain.alerts import escalation, outcomes
from service.domain.alerts.outcomes import LOOKBACK
from service.domain.alerts.sms import SEND_JOB
from service.domain.context import Effect
from service.models import AlertText, OutboundMessage, utcnow
from service.queues import ALERTS
from workers.runtime import current

log = logging.getLogger(__name__)

# A text still queued this long after it was written or last tried lost its job
# (the process that was to enqueue it died, or Redis refused): send it again.
REDRIVE_AFTER = timedelta(seconds=5)


def send_alert_text(message_id: int) -> str:
    """Send one page or alert notice; a page that cannot arrive hurries the escalation along."""
    rt = current()
    status = sending.send_one(
        rt.database, rt.vault, rt.gateway, rt.pacer, message_id, priority=True
    )
    if status in outcomes.NOT_DELIVERED:
        with rt.database.session() as session:
            message = session.get(OutboundMessage, message_id)
            due_now = outcomes.settle(session, message, utcnow()) if message else None
        if due_now is not None:
            _fire(rt, [due_now])
    return status


def sweep_escalations() -> dict[str, int]:
    """The clock's pass: fire due escalations, settle missed outcomes, re-drive lost texts."""
    rt = current()
    now = utcnow()
    with rt.database.session() as session:
        for message in outcomes.unsettled_final(session, now):
            outcomes.settle(session, message, now)
    fired = _fire(rt, None)
    with rt.database.session() as session:
        lost = list(
            session.scalars(
                select(OutboundMessage.id)
                .join(AlertText, AlertText.message_id == OutboundMessage.id)
                .where(
                    AlertText.created_at > now - LOOKBACK,
                    OutboundMessage.status == "queued",
                    OutboundMessage.updated_at < now - REDRIVE_AFTER,
                )
                .limit(500)
            )
        )
    for message_id in lost:
        rt.enqueue(Effect(ALERTS, SEND_JOB, (message_id,)))
    if fired or lost:
        log.info("alert sweep: %d texts from escalations, %d re-driven", fired, len(lost))
    return {"escalation_texts": fired, "redriven": len(lost)}


def _fire(rt, alert_ids: list[int] | None) -> int:  # type: ignore[no-untyped-def]
    with rt.database.session() as session:
        message_ids = escalation.fire_due(
            session, rt.vault, rt.config, utcnow(), alert_ids=alert_ids
        )
    for message_id in message_ids:
        rt.enqueue(Effect(ALERTS, SEND_JOB, (message_id,), job_id=f"alert-text-{message_id}"))
    return len(message_ids)
