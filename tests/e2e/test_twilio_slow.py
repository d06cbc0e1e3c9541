"""Twilio answers slowly (5 s a request) and fails some requests: the broadcast keeps its rate
and never exceeds it, every recipient still gets exactly one text, and an alert raised meanwhile
is paged at once by the pager worker, not held behind the broadcast.

Keeping the rate with slow answers takes rate x answer time texts in flight (20/s x 5 s = 100):
each worker keeps BROADCAST_SENDS_IN_FLIGHT of them going, whatever its neighbours' answers."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from service.domain import people
from tests.broadcasts.e2e_support import per_number, prepare, preview_and_send, wait_until_settled
from tests.e2e.harness import wait_for

DISPATCHER, RESPONDER = "+12155550131", "+12155550132"
RATE = 20
ANSWER_SECONDS = 5.0


@pytest.fixture
def stack_env(stack_env):  # type: ignore[no-untyped-def]
    return {
        **stack_env,
        "SEND_RATE_PER_SECOND": str(RATE),
        "ESCALATION_TIMEOUT_SECONDS": "60",
        # 300 recipients are one chunk of 250 and one of 50: one worker sends most of them.
        "BROADCAST_SENDS_IN_FLIGHT": "128",  # >= 20/s x 5 s
    }


def test_slow_and_failing_twilio(stack, fake_twilio):
    phones = prepare(stack, 300)
    rt = stack.runtime()
    with rt.database.session() as session:
        people.register(session, rt.vault, DISPATCHER, "dispatcher", name="Dee")
        people.register(session, rt.vault, RESPONDER, "responder", name="Ray", tier=1)
    rt.close()
    # The page is spared the 429s and 500s: one landing on it would time RQ's retry
    # backoff (seconds) instead of the pager: with a 429 every 11th and a 500 every
    # 15th request, about one run in seven used to fail that way.
    fake_twilio.set_faults(
        delay_seconds=ANSWER_SECONDS,
        error_500_every_nth=15,
        every_nth_429=11,
        spared_numbers=[RESPONDER],
    )
    stack.start_web()
    stack.start_worker()
    stack.start_worker()
    stack.start_worker(queues=("alerts",))  # the Procfile's pager
    stack.start_clock()

    preview_and_send(stack, "BCAST Bring rain gear tonight.")
    fake_twilio.wait_for_messages(60, timeout=40)
    raised = time.time()
    assert "Paging 1 tier-1" in stack.text(DISPATCHER, "ALERT riot police at the east gate")
    page = wait_for(lambda: fake_twilio.messages(to=RESPONDER), timeout=20, message="the page")
    # The page is taken by Twilio within its own answer time plus a little.
    assert page[0]["received_at"] - raised < ANSWER_SECONDS + 2.0

    wait_until_settled(stack, timeout=90)
    texts = [m for m in fake_twilio.messages() if m["to"] in set(phones)]
    counts = per_number(texts)
    assert set(counts) == set(phones) and set(counts.values()) == {1}
    # Retries after 429 and 500 never push a second over the rate.
    seconds = Counter(int(m["received_at"]) for m in texts)
    assert max(seconds.values()) <= RATE
    # And slow answers do not slow it down: between its first and last tenth the broadcast
    # runs at the rate, less the requests answered 429 or 500 (about one in six here).
    times = sorted(m["received_at"] for m in texts)
    tenth = len(times) // 10
    middle = (len(times) - 2 * tenth) / (times[-tenth] - times[tenth])
    assert middle >= 0.7 * RATE, f"{middle:.1f} texts/s at a rate of {RATE}"
