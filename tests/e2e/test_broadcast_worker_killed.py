"""Kill -9 the only worker in the middle of a 2,000-recipient broadcast, start another: no
recipient gets two texts, and every recipient gets one or is reported unknown (a handful);
looked up at the provider, the unknown texts that reached it are found."""

from __future__ import annotations

import pytest

from service.config import Config
from service.domain.broadcasts.sender import most_unrecorded, paced_ahead
from tests.broadcasts.e2e_support import (
    ORGANIZER,
    look_up_unknowns,
    numbers_with_status,
    per_number,
    prepare,
    preview_and_send,
    wait_until_settled,
)

# What the worker holds claimed and unrecorded at most, at the default setting: that
# bounds what a kill can leave unknown.
MOST_UNKNOWN = most_unrecorded(Config.broadcast_sends_in_flight)


@pytest.fixture
def stack_env(stack_env):  # type: ignore[no-untyped-def]
    return {**stack_env, "SEND_RATE_PER_SECOND": "200"}


def kill_mid_broadcast(stack, fake_twilio, recipients: int, sent_first: int) -> list[str]:  # type: ignore[no-untyped-def]
    """A broadcast to `recipients` with one worker, killed -9 once `sent_first` texts went
    out (no cleanup: its claims are left behind), and another worker started."""
    phones = prepare(stack, recipients)
    stack.start_web()
    worker = stack.start_worker()
    stack.start_clock()

    preview_and_send(stack, "BCAST The kitchen tent needs volunteers tonight.")
    fake_twilio.wait_for_messages(sent_first, timeout=30)
    stack.kill(worker)
    assert len(fake_twilio.messages()) < recipients, "finished before the kill; slow it down"
    stack.start_worker()
    return phones


def test_a_killed_worker_loses_nothing_and_sends_nothing_twice(stack, fake_twilio):
    phones = kill_mid_broadcast(stack, fake_twilio, 2000, 400)

    summary = wait_until_settled(stack, timeout=50)
    counts = per_number(fake_twilio.messages())
    assert max(counts.values()) == 1, [n for n, c in counts.items() if c > 1][:5]
    unknown = summary.get("unknown", 0)
    assert summary["state"] == "done", summary
    assert set(counts) <= set(phones)
    # Everyone got their text, or is reported unknown (which may have arrived or not).
    missing = set(phones) - set(counts)
    assert missing <= numbers_with_status(stack, "unknown"), summary
    assert unknown <= MOST_UNKNOWN, summary
    status = stack.text(ORGANIZER, "STATUS")
    if unknown:
        assert f"{unknown} unknown" in status, status

    # The clock then asks the provider about each unknown text: those that reached it
    # are recorded sent, and only those that never left stay unknown.
    looked_up = look_up_unknowns(stack)
    assert numbers_with_status(stack, "unknown") == missing, looked_up


def test_a_worker_killed_while_the_rate_paces_it_leaves_only_a_few_unknown(stack, fake_twilio):
    """Paced, a worker holds claimed only what the rate will use up soon (paced_ahead),
    not most_unrecorded: a kill leaves a few texts unknown, not a few dozen."""
    rate = 20
    stack.env["SEND_RATE_PER_SECOND"] = str(rate)
    phones = kill_mid_broadcast(stack, fake_twilio, 200, 60)

    summary = wait_until_settled(stack, timeout=60)
    counts = per_number(fake_twilio.messages())
    assert max(counts.values()) == 1, [n for n, c in counts.items() if c > 1][:5]
    assert summary["state"] == "done", summary
    assert set(phones) - set(counts) <= numbers_with_status(stack, "unknown"), summary
    # Those claimed ahead, and at this rate one or two with the provider or about to be
    # recorded.
    ahead = paced_ahead(rate, Config.broadcast_sends_in_flight)
    assert summary.get("unknown", 0) <= ahead + 3 < MOST_UNKNOWN, summary
