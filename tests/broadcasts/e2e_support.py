"""Shared steps of the broadcast end-to-end scenarios (tests/e2e/test_broadcast_*.py)."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from sqlalchemy import select

from service.domain import people
from service.domain.broadcasts import control
from service.models.broadcasts import Broadcast
from tests.broadcasts.seeding import seed_subscribers
from tests.e2e.harness import Stack, wait_for

ORGANIZER = "+12155550111"


def prepare(stack: Stack, subscribers: int) -> list[str]:
    """Register the organizer and seed opted-in subscribers straight into the database."""
    rt = stack.runtime()
    with rt.database.session() as session:
        people.register(session, rt.vault, ORGANIZER, "organizer", name="Rosa")
    phones = seed_subscribers(rt.database, rt.vault, subscribers)
    rt.database.dispose()
    return phones


def preview_and_send(stack: Stack, command: str) -> tuple[str, str]:
    """Text the command, then SEND the previewed code; (code, reply to SEND)."""
    preview = stack.text(ORGANIZER, command)
    assert preview and "SEND" in preview, preview
    code = re.search(r"SEND (\d{4})", preview).group(1)  # type: ignore[union-attr]
    reply = stack.text(ORGANIZER, f"SEND {code}")
    assert reply and "sending #" in reply, reply
    return code, reply


def latest_broadcast(stack: Stack) -> dict[str, Any]:
    rt = stack.runtime()
    try:
        with rt.database.session() as session:
            broadcast_id = session.scalar(select(Broadcast.id).order_by(Broadcast.id.desc()))
            report = control.report(session, broadcast_id)
            return {"id": broadcast_id, "state": report.broadcast.state, **report.counts}
    finally:
        rt.database.dispose()


def settled(summary: dict[str, Any]) -> bool:
    """Nothing left to send or waiting for an answer."""
    return summary["state"] in ("done", "aborted") and not (
        summary.get("queued") or summary.get("claimed")
    )


def wait_until_settled(stack: Stack, timeout: float) -> dict[str, Any]:
    return wait_for(
        lambda: latest_broadcast(stack),
        settled,
        timeout=timeout,
        interval=0.5,
        message="the broadcast to finish",
    )


def per_number(messages: list[dict[str, Any]]) -> Counter[str]:
    return Counter(m["to"] for m in messages)


def numbers_with_status(stack: Stack, status: str) -> set[str]:
    """The numbers whose ledger row of the latest broadcast has `status`."""
    from service.models import OutboundMessage, Subscriber

    rt = stack.runtime()
    try:
        with rt.database.session() as session:
            broadcast_id = session.scalar(select(Broadcast.id).order_by(Broadcast.id.desc()))
            encrypted = session.scalars(
                select(Subscriber.phone_enc)
                .join(OutboundMessage, OutboundMessage.subscriber_id == Subscriber.id)
                .where(
                    OutboundMessage.broadcast_id == broadcast_id,
                    OutboundMessage.status == status,
                )
            )
            return {rt.vault.decrypt(phone) for phone in encrypted}
    finally:
        rt.database.dispose()


def look_up_unknowns(stack: Stack) -> dict[str, int]:
    """The clock's look-up of unknown texts at the provider, done now rather than a
    LOOK_AFTER later."""
    from service.domain import unknowns
    from service.models import utcnow

    rt = stack.runtime()
    results: Counter[str] = Counter()
    try:
        # One pass looks up a page of them, as one run of the clock's job does; a
        # provider that cannot be asked leaves them due, so the passes are bounded.
        for _ in range(10):
            page = unknowns.look_up(
                rt.database, rt.vault, rt.gateway, utcnow() + unknowns.LOOK_AFTER
            )
            if not page:
                break
            results.update(page)
    finally:
        rt.close()
    return dict(results)
