"""A page Twilio refuses, or whose status callback says undelivered, does not reach anyone:
when no page of tier 1 can arrive, tier 2 is paged at once instead of after the timeout."""

from __future__ import annotations

import time

from tests.e2e.alerting import ANA, BEN, CARLA, ORGANIZER, pages, register_crew
from tests.e2e.harness import wait_for

TIMEOUT = 30  # long: tier 2 must not wait for it


def test_unreachable_tier_is_skipped(stack_env, stack, fake_twilio):
    stack.env.update(ESCALATION_TIMEOUT_SECONDS=str(TIMEOUT))
    register_crew(stack)
    fake_twilio.set_faults(errors_for_numbers={ANA: 21211}, undelivered_numbers={BEN: 30003})
    stack.start_web()
    stack.start_worker()
    stack.start_clock()

    sent_at = time.time()
    stack.text(ORGANIZER, "ALERT raid")
    [carla] = wait_for(lambda: pages(fake_twilio, CARLA), timeout=15, message="tier 2 paged")
    assert carla["received_at"] - sent_at < 8
    assert pages(fake_twilio, ANA) == []  # refused: never recorded by the server
    assert len(pages(fake_twilio, BEN)) == 1

    rt = stack.runtime()
    from service.domain.alerts import timeline

    with rt.database.session() as session:
        details = [e.detail for e in timeline.events(session, 1)]
    assert "page to Ana not delivered (error 21211)" in details
    assert "page to Ben not delivered (error 30003)" in details
    assert any(d.startswith("escalated to tier 2: Carla") for d in details)
    rt.database.dispose()
