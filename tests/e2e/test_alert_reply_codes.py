"""Reply codes over the wire: right, wrong, stale, someone else's, lower case, spaces, quotes."""

from __future__ import annotations

from tests.e2e.alerting import ANA, BEN, ORGANIZER, code_in, hold, pages, register_crew, unexpected
from tests.e2e.harness import wait_for


def test_reply_codes(stack_env, stack, fake_twilio):
    stack.env.update(ESCALATION_TIMEOUT_SECONDS="120")
    register_crew(stack)
    stack.start_web()
    stack.start_worker()
    stack.start_clock()

    stack.text(BEN, "OFFCALL")
    stack.text(ORGANIZER, "ALERT first")  # Ana: code 1
    stack.text(BEN, "ONCALL")
    stack.text(ORGANIZER, "ALERT second")  # Ana: code 2, Ben: code 1
    wait_for(lambda: len(fake_twilio.messages()), lambda n: n == 3, timeout=10)
    assert [code_in(p) for p in pages(fake_twilio, ANA)] == ["1", "2"]
    [ben_page] = pages(fake_twilio, BEN)
    assert code_in(ben_page) == "1" and "ALERT: second" in ben_page["body"]

    # Wrong: a code Ana never got.
    assert stack.text(ANA, " 9a ") == "Camp Hope: you have no alert 9. Your open alerts: 1, 2."
    # Someone else's: 2 is Ana's code for "second"; Ben knows that alert as 1.
    assert stack.text(BEN, "2A") == "Camp Hope: you have no alert 2. Your open alerts: 1."
    # Quotes and lower case: Ana closes "first".
    assert stack.text(ANA, '"1c"') == "Camp Hope: alert 1 is closed. Thank you."
    # Stale: her code 1 belongs to a closed alert now (with spaces).
    assert stack.text(ANA, "1 A") == "Camp Hope: alert 1 is already closed."
    # Right: Ben acknowledges "second" by his own code, lower case.
    assert "you are responding to alert 1" in stack.text(BEN, "1a")
    assert stack.text(ANA, "2A") == "Camp Hope: alert 2 was already acknowledged by Ben."

    told = wait_for(
        lambda: [m["body"] for m in fake_twilio.messages(to=ANA)][2:],
        timeout=10,
        message="Ana told who responds",
    )
    assert told == ["Camp Hope: Ben is responding to alert 2: second"]
    hold(1)
    # Olga: "closed by Ana" (first) and "Ben is responding" (second).
    assert unexpected(fake_twilio, {ANA: 3, BEN: 1, ORGANIZER: 2}) == {}
