"""Two clock processes (and two workers) at once never double-page: every escalation step
is one fenced UPDATE, and only its winner pages."""

from __future__ import annotations

from tests.e2e.alerting import ANA, BEN, CARLA, ORGANIZER, hold, pages, register_crew, unexpected
from tests.e2e.harness import wait_for

TIMEOUT = 2
ALERTS = 4


def test_two_clocks_never_double_page(stack_env, stack, fake_twilio):
    stack.env.update(ESCALATION_TIMEOUT_SECONDS=str(TIMEOUT), ESCALATION_REPEAT="1")
    register_crew(stack)
    stack.start_web()
    for _ in range(2):
        stack.start_worker()
        stack.start_clock()

    for n in range(ALERTS):
        assert "opened" in stack.text(ORGANIZER, f"ALERT incident {n}")
    wait_for(
        lambda: fake_twilio.messages(to=ORGANIZER),
        lambda found: len(found) == ALERTS,
        timeout=4 * TIMEOUT + 20,
        message="every alert given up on",
    )
    hold(TIMEOUT + 1)
    # Per alert: tier 1, tier 2, tier 1 again, tier 2 again; then one notice.
    expected = {ANA: 2 * ALERTS, BEN: 2 * ALERTS, CARLA: 2 * ALERTS, ORGANIZER: ALERTS}
    assert unexpected(fake_twilio, expected) == {}
    codes = sorted(p["body"].split("Reply ")[1].split("A")[0] for p in pages(fake_twilio, CARLA))
    assert codes == sorted(str(n) for n in range(1, ALERTS + 1) for _ in range(2))
