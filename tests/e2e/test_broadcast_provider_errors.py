"""The Twilio server answers 429 to every tenth request and 500 to some others: every
recipient still gets exactly one text (retried with backoff against the ledger)."""

from __future__ import annotations

from tests.broadcasts.e2e_support import per_number, prepare, preview_and_send, wait_until_settled


def test_429_and_500_still_reach_everyone_once(stack, fake_twilio):
    phones = prepare(stack, 500)
    fake_twilio.set_faults(every_nth_429=10, error_500_every_nth=17)
    stack.start_web()
    stack.start_worker()
    stack.start_worker()
    stack.start_clock()

    preview_and_send(stack, "BCAST Legal observers needed at 6pm.")
    summary = wait_until_settled(stack, timeout=45)
    assert summary["state"] == "done", summary

    counts = per_number(fake_twilio.messages())
    assert set(counts) == set(phones) and set(counts.values()) == {1}
    stats = fake_twilio.stats()
    assert stats["rejected_429"] >= 50 and stats["rejected_500"] > 0, stats
    assert summary.get("failed", 0) == 0 and summary.get("unknown", 0) == 0, summary
