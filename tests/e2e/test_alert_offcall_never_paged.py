"""OFFCALL responders are never paged, through escalation and repeats; ONCALL brings them back."""

from __future__ import annotations

from tests.e2e.alerting import ANA, BEN, CARLA, ORGANIZER, hold, pages, register_crew, unexpected
from tests.e2e.harness import wait_for

TIMEOUT = 2


def test_offcall_is_never_paged(stack_env, stack, fake_twilio):
    stack.env.update(ESCALATION_TIMEOUT_SECONDS=str(TIMEOUT), ESCALATION_REPEAT="1")
    register_crew(stack)
    stack.start_web()
    stack.start_worker()
    stack.start_clock()

    assert "OFF CALL" in stack.text(ANA, "OFFCALL")
    assert "Paging 1 tier-1" in stack.text(ORGANIZER, "ALERT raid")
    wait_for(lambda: fake_twilio.messages(to=ORGANIZER), timeout=4 * TIMEOUT + 15)
    hold(1)
    assert unexpected(fake_twilio, {BEN: 2, CARLA: 2, ORGANIZER: 1}) == {}

    assert "ON CALL" in stack.text(ANA, "oncall")
    stack.text(ORGANIZER, "ALERT second")
    wait_for(lambda: pages(fake_twilio, ANA), timeout=10, message="Ana paged once on call")
