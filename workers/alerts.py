"""Rapid-response jobs: send one alert text, and the escalation sweep the clock runs.

Both run on the `alerts` queue, which workers serve before `broadcasts`, and
pages take the rate limiter's priority lane, so a page never waits behind a
bulk broadcast. Both are safe to run twice: a text is claimed in the ledger
before it is sent, and every escalation step is fenced (see
service/domain/alerts/escalation.py).
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta
from functools import cache

from sqlalchemy import select

import service.domain.alerts  # noqa: F401  (hooks the alert engine into the ledger)
from service.domain import sending
from service.domain.alerts import escalation, outcomes
from service.domain.alerts.outcomes import LOOKBACK
from service.domain.alerts.page_sender import PageSender
from service.domain.alerts.sms import SEND_JOB, send_effects
from service.domain.context import Effect
from service.domain.provider_loop import ProviderLoop
from service.gateway.twilio_async import build_async_gateway
from service.models import AlertText, OutboundMessage, utcnow
from service.queues import ALERTS
from workers.runtime import current

log = logging.getLogger(__name__)

# A text still queued this long after it was written or last tried lost its job
# (the process that was to enqueue it died, Redis refused, or a Redis restart took
# the queue with it): send it again. It adds to a page's delay whenever that happens,
# so it is short; a text whose job is only waiting gets a second job, which finds it
# claimed or sent and does nothing. (At 5 s, the soak once saw tier 2 paged 6.8 s
# late: its escalation fired just before a Redis restart.)
REDRIVE_AFTER = timedelta(seconds=2)


def send_alert_texts(message_ids: list[int]) -> dict[str, int]:
    """Send a tier's pages at once (see service/domain/alerts/page_sender.py).

    A retryable error leaves its text queued in the ledger; the sweep sends it again
    (its own job) after REDRIVE_AFTER, so one slow number never holds up the rest.
    """
    rt = current()
    results = page_sender().send(message_ids)
    for result in results:
        _after_send(rt, result.message_id, result.status)
    return dict(Counter(result.status for result in results))


@cache
def page_sender() -> PageSender:
    rt = current()
    provider = ProviderLoop(lambda: build_async_gateway(rt.config), rt.fence, name="pages")
    return PageSender(rt.database, rt.vault, rt.pacer, provider)


def send_alert_text(message_id: int) -> str:
    """Send one page or alert notice (a retryable error raises, and RQ's Retry backs off)."""
    rt = current()
    status = sending.send_one(
        rt.database, rt.vault, rt.gateway, rt.pacer, message_id, priority=True, fence=rt.fence
    )
    _after_send(rt, message_id, status)
    return status


def _after_send(rt, message_id: int, status: str) -> None:  # type: ignore[no-untyped-def]
    """A page that cannot arrive hurries the escalation along."""
    if status in outcomes.NOT_DELIVERED:
        with rt.database.session() as session:
            message = session.get(OutboundMessage, message_id)
            due_now = outcomes.settle(session, message, utcnow()) if message else None
        if due_now is not None:
            _fire(rt, [due_now])


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
    for effect in send_effects(message_ids):
        rt.enqueue(effect)
    return len(message_ids)
