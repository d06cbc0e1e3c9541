"""kill -9 the worker right after the tier-1 pages go out: tier 2 is still paged on time,
exactly once (the due time is in the database; a fresh worker runs the clock's sweep)."""

from __future__ import annotations

import time

from tests.e2e.alerting import ANA, BEN, CARLA, ORGANIZER, hold, pages, register_crew, unexpected
from tests.e2e.harness import wait_for

TIMEOUT = 3


def test_tier_two_is_paged_on_time_after_the_worker_dies(stack_env, stack, fake_twilio):
    stack.env.update(ESCALATION_TIMEOUT_SECONDS=str(TIMEOUT), ESCALATION_REPEAT="0")
    register_crew(stack)
    stack.start_web()
    worker = stack.start_worker()
    stack.start_clock()

    sent_at = time.time()
    stack.text(ORGANIZER, "ALERT checkpoint at the bridge")
    fake_twilio.wait_for_messages(2, timeout=10)
    stack.kill(worker)  # SIGKILL: no goodbye, no cleanup
    stack.start_worker()

    [carla] = wait_for(
        lambda: pages(fake_twilio, CARLA), timeout=TIMEOUT + 10, message="tier 2 paged"
    )
    assert carla["received_at"] - sent_at <= TIMEOUT + 5, carla["received_at"] - sent_at
    wait_for(lambda: fake_twilio.messages(to=ORGANIZER), timeout=TIMEOUT + 10)
    hold(2)
    assert unexpected(fake_twilio, {ANA: 1, BEN: 1, CARLA: 1, ORGANIZER: 1}) == {}
