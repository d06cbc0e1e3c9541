"""1,000 subscribers, one broadcast through SMS preview and SEND: each receives exactly one
text, with a ValidityPeriod; a second SEND of the same code sends nothing more."""

from __future__ import annotations

import time

from tests.broadcasts.e2e_support import (
    ORGANIZER,
    per_number,
    prepare,
    preview_and_send,
    wait_until_settled,
)


def test_each_of_1000_gets_exactly_one_text(stack, fake_twilio):
    phones = prepare(stack, 1000)
    stack.start_web()
    stack.start_worker()
    stack.start_worker()
    stack.start_clock()

    code, _ = preview_and_send(stack, "BCAST March at noon from City Hall. Bring water.")
    fake_twilio.wait_for_messages(1000, timeout=40)
    summary = wait_until_settled(stack, timeout=20)
    assert summary["state"] == "done", summary

    again = stack.text(ORGANIZER, f"SEND {code}")
    assert "already confirmed" in again
    time.sleep(1.0)  # give a wrongly enqueued second send the time to show itself

    messages = fake_twilio.messages()
    counts = per_number(messages)
    assert set(counts) == set(phones) and set(counts.values()) == {1}
    assert {m["body"] for m in messages} == {
        "Camp Hope: March at noon from City Hall. Bring water."
    }
    assert {str(m["validity_period"]) for m in messages} == {"14400"}
    status = stack.text(ORGANIZER, "STATUS")
    assert "done" in status and "0 queued" in status and "1000 sent" in status, status
