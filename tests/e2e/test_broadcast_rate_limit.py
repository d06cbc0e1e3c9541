"""SEND_RATE_PER_SECOND=50 with three workers: no one-second window holds more than 50
texts at the provider, and the average rate is at least 45 a second."""

from __future__ import annotations

import bisect

import pytest

from tests.broadcasts.e2e_support import prepare, preview_and_send, wait_until_settled

RATE = 50


@pytest.fixture
def stack_env(stack_env):  # type: ignore[no-untyped-def]
    # At 50 a second a few texts in flight per worker are plenty; fewer contend less
    # for the CPU, so a granted text reaches the provider sooner after its grant.
    return {**stack_env, "SEND_RATE_PER_SECOND": str(RATE), "BROADCAST_SENDS_IN_FLIGHT": "8"}


def test_three_workers_share_the_rate(stack, fake_twilio):
    prepare(stack, 600)  # twelve seconds at the limit
    # What is measured is the limiter, at the provider. Status callbacks would add a
    # hundred requests a second to the web process on the same two cores; the CPU they
    # take delays some sends between grant and arrival by more than the limiter's
    # margin (seen on a slower machine: 51 in a second, one run in three). In
    # production the web tier does not share the workers' cores.
    fake_twilio.set_faults(callbacks=False)
    stack.start_web()
    for _ in range(3):
        stack.start_worker()
    stack.start_clock()

    preview_and_send(stack, "BCAST Rally Saturday 10am, Main Street.")
    fake_twilio.wait_for_messages(600, timeout=40)
    wait_until_settled(stack, timeout=20)

    times = sorted(m["received_at"] for m in fake_twilio.messages())
    assert len(times) == 600
    busiest = max(bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times))
    assert busiest <= RATE, f"{busiest} texts in one second"
    average = (len(times) - 1) / (times[-1] - times[0])
    assert average >= 0.9 * RATE, f"average {average:.1f}/s"
