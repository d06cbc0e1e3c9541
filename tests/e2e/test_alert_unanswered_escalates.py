"""Nobody acknowledges: tier 2 is paged within the timeout plus 5 seconds, then the alert
repeats from tier 1 (ESCALATION_REPEAT=1), then the organizers are told it went unanswered."""

from __future__ import annotations

import time

from tests.e2e.alerting import ANA, BEN, CARLA, ORGANIZER, hold, pages, register_crew, unexpected
from tests.e2e.harness import wait_for

TIMEOUT = 3


def test_no_ack_escalates_repeats_and_tells_organizers(stack_env, stack, fake_twilio):
    stack.env.update(ESCALATION_TIMEOUT_SECONDS=str(TIMEOUT), ESCALATION_REPEAT="1")
    register_crew(stack)
    stack.start_web()
    stack.start_worker()
    stack.start_clock()

    sent_at = time.time()
    stack.text(ORGANIZER, "ALERT raid on Elm St")
    fake_twilio.wait_for_messages(2, timeout=10)
    [carla] = wait_for(
        lambda: pages(fake_twilio, CARLA), timeout=TIMEOUT + 10, message="tier 2 paged"
    )
    assert carla["received_at"] - sent_at <= TIMEOUT + 5, carla["received_at"] - sent_at
    assert carla["received_at"] - sent_at >= TIMEOUT - 0.5  # and not before its time

    # Round 2: tier 1 again, then tier 2 again, then the organizer is told.
    wait_for(lambda: len(pages(fake_twilio, ANA)), lambda n: n == 2, timeout=TIMEOUT + 10)
    assert (
        "STILL UNANSWERED" in pages(fake_twilio, BEN)[-1]["body"]
        or len(pages(fake_twilio, BEN)) < 2
    )
    wait_for(lambda: len(pages(fake_twilio, CARLA)), lambda n: n == 2, timeout=TIMEOUT + 10)
    [notice] = wait_for(
        lambda: fake_twilio.messages(to=ORGANIZER), timeout=TIMEOUT + 10, message="organizer told"
    )
    assert (
        "alert #1 went UNANSWERED (nobody acknowledged after 2 rounds of paging)"
        in (notice["body"])
    )
    assert "raid on Elm St" in notice["body"]

    hold(TIMEOUT + 2)  # nothing after giving up
    assert unexpected(fake_twilio, {ANA: 2, BEN: 2, CARLA: 2, ORGANIZER: 1}) == {}
    for number in (ANA, BEN):
        assert "STILL UNANSWERED (page 2)" in pages(fake_twilio, number)[1]["body"]
