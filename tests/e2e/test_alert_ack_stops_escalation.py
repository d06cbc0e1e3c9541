"""ALERT pages every on-call tier-1 responder once; the first ack stops escalation (no
tier-2 page ever), everyone paged is told who responds, a later ack is told who has it."""

from __future__ import annotations

import time

from tests.e2e.alerting import (
    ANA,
    BEN,
    CARLA,
    ORGANIZER,
    code_in,
    hold,
    pages,
    register_crew,
    unexpected,
)
from tests.e2e.harness import wait_for

TIMEOUT = 3


def test_ack_by_one_stops_escalation(stack_env, stack, fake_twilio):
    stack.env.update(ESCALATION_TIMEOUT_SECONDS=str(TIMEOUT))
    register_crew(stack)
    stack.start_web()
    stack.start_worker()
    stack.start_clock()

    assert "Paging 2 tier-1" in stack.text(ORGANIZER, "ALERT ICE van at 5th and Main")
    fake_twilio.wait_for_messages(2, timeout=10)
    [ana_page] = pages(fake_twilio, ANA)
    [ben_page] = pages(fake_twilio, BEN)
    assert "ICE van at 5th and Main" in ana_page["body"]

    assert "you are responding" in stack.text(ANA, f"{code_in(ana_page)}A")
    acked_at = time.monotonic()
    told = wait_for(
        lambda: fake_twilio.messages(to=BEN)[1:],
        timeout=10,
        message="Ben told who responds",
    )
    assert told[0]["body"].startswith("Camp Hope: Ana is responding to alert ")
    assert "already acknowledged by Ana" in stack.text(BEN, f"{code_in(ben_page)}A")

    # Well past the time tier 2 would have been paged: nothing more goes out.
    hold(max(0.0, acked_at + TIMEOUT + 5 - time.monotonic()))
    assert pages(fake_twilio, CARLA) == []
    # Ana: one page. Ben: a page and "Ana is responding". Olga (opened it): "Ana is responding".
    assert unexpected(fake_twilio, {ANA: 1, BEN: 2, ORGANIZER: 1}) == {}
