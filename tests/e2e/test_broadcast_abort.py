"""ABORT mid-broadcast: the count handed to the provider stops growing within 2 seconds."""

from __future__ import annotations

import time

import pytest

from tests.broadcasts.e2e_support import ORGANIZER, prepare, preview_and_send, wait_until_settled


@pytest.fixture
def stack_env(stack_env):  # type: ignore[no-untyped-def]
    return {**stack_env, "SEND_RATE_PER_SECOND": "100"}


def test_abort_stops_a_broadcast_in_flight(stack, fake_twilio):
    prepare(stack, 2000)  # twenty seconds of sending if nobody stops it
    stack.start_web()
    stack.start_worker()
    stack.start_worker()
    stack.start_clock()

    preview_and_send(stack, "BCAST Everyone to the north gate now.")
    fake_twilio.wait_for_messages(200, timeout=20)
    reply = stack.text(ORGANIZER, "ABORT")
    aborted_at = time.time()
    assert "stopped" in reply, reply

    time.sleep(2.0)
    after_two_seconds = len(fake_twilio.messages())
    time.sleep(3.0)
    assert len(fake_twilio.messages()) == after_two_seconds
    late = [m for m in fake_twilio.messages() if m["received_at"] > aborted_at + 2.0]
    assert late == []
    assert after_two_seconds < 2000

    summary = wait_until_settled(stack, timeout=20)
    assert summary["state"] == "aborted" and summary.get("queued", 0) == 0, summary
    assert "aborted" in stack.text(ORGANIZER, "STATUS")
