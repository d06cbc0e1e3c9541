"""A recipient texts STOP while a broadcast is going out: after the STOP confirmation that
number gets nothing, and everyone else still gets their one text."""

from __future__ import annotations

import time

import pytest

from tests.broadcasts.e2e_support import per_number, prepare, preview_and_send, wait_until_settled


@pytest.fixture
def stack_env(stack_env):  # type: ignore[no-untyped-def]
    return {**stack_env, "SEND_RATE_PER_SECOND": "60"}


def test_stop_during_a_broadcast_wins(stack, fake_twilio):
    phones = prepare(stack, 360)  # about six seconds of sending
    stack.start_web()
    stack.start_worker()
    stack.start_worker()
    stack.start_clock()

    preview_and_send(stack, "BCAST Tonight's assembly moved to 8pm.")
    fake_twilio.wait_for_messages(60, timeout=20)
    leaving = [n for n in phones if n not in per_number(fake_twilio.messages())][-40:]
    confirmations = {}
    for number in leaving:
        reply = stack.text(number, "STOP")
        confirmations[number] = time.time()
        assert "unsubscribed" in reply, reply

    summary = wait_until_settled(stack, timeout=30)
    messages = fake_twilio.messages()
    late = [
        m
        for m in messages
        if m["to"] in confirmations and m["received_at"] > confirmations[m["to"]]
    ]
    assert late == []
    counts = per_number(messages)
    assert max(counts.values()) == 1
    assert set(phones) - set(leaving) <= set(counts)
    assert summary.get("skipped", 0) >= len(leaving) - sum(1 for n in leaving if n in counts)
