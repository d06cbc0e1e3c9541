"""The clock's sweeps run while broadcast chunks keep the workers busy.

A chunk holds its worker for as long as sending it takes (250 texts at 10 a second:
25 seconds), and a broadcast queues many. A sweep queued behind them ran only once
the whole broadcast was out; here a claim abandoned by a dead worker must be
reported unknown while the chunks are still waiting.
"""

from __future__ import annotations

from datetime import timedelta

from rq import Queue

from service.models import OutboundMessage, utcnow
from tests.e2e.harness import wait_for

CHUNK_SECONDS = 6
CHUNKS = 3


def test_sweeps_do_not_wait_for_queued_chunks(stack, redis_conn):
    rt = stack.runtime()
    with rt.database.session() as session:
        # What a worker killed mid-send leaves: a text claimed long ago, no outcome.
        abandoned = OutboundMessage(
            purpose="notice",
            to_enc=rt.vault.encrypt("+12155550100"),
            body_enc=rt.vault.encrypt("The kitchen moved."),
            status="claimed",
            claimed_at=utcnow() - timedelta(minutes=5),
        )
        session.add(abandoned)
        session.flush()
        abandoned_id = abandoned.id
    chunks = Queue("broadcasts", connection=redis_conn)
    for _ in range(CHUNKS):
        chunks.enqueue("tests.e2e.occupying.hold", CHUNK_SECONDS)

    stack.start_worker()
    wait_for(lambda: chunks.count, lambda n: n < CHUNKS, timeout=30, message="a chunk started")
    stack.start_clock()

    def status() -> str:
        with rt.database.session(immediate=False) as session:
            return session.get(OutboundMessage, abandoned_id).status

    # The sweep gets the worker between two chunks, not after the last.
    wait_for(status, lambda s: s == "unknown", timeout=2 * CHUNK_SECONDS, message="unknown")
    assert chunks.count >= 1, "the sweep ran only after every chunk"
    rt.close()
