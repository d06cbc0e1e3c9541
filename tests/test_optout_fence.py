"""The opt-out fence: a text either reached the provider before the STOP's confirmation, or is
skipped. Real Redis, real threads."""

from __future__ import annotations

import threading
import time

from service.optout_fence import OptOutFence

HASH = "a" * 64


def test_enter_and_leave_count_texts_in_flight(redis_conn):
    fence = OptOutFence(redis_conn)
    assert fence.enter(HASH) and fence.enter(HASH)
    fence.leave(HASH)
    fence.leave(HASH)
    assert fence.seal(HASH, wait=0.1) is True


def test_after_the_seal_nothing_enters_until_the_person_opts_back_in(redis_conn):
    fence = OptOutFence(redis_conn)
    fence.seal(HASH)
    assert fence.enter(HASH) is False
    assert fence.enter("b" * 64) is True, "other numbers are not affected"
    fence.unseal(HASH)
    assert fence.enter(HASH) is True


def test_the_seal_waits_for_a_text_in_flight(redis_conn):
    fence = OptOutFence(redis_conn)
    assert fence.enter(HASH)
    left_at: list[float] = []

    def provider_call() -> None:
        time.sleep(0.3)
        left_at.append(time.monotonic())
        fence.leave(HASH)

    thread = threading.Thread(target=provider_call)
    thread.start()
    assert fence.seal(HASH, wait=5) is True
    sealed_at = time.monotonic()
    thread.join()
    assert left_at and sealed_at >= left_at[0], "the confirmation waited for the send"


def test_a_provider_slower_than_the_wait_is_reported(redis_conn):
    fence = OptOutFence(redis_conn)
    assert fence.enter(HASH)
    assert fence.seal(HASH, wait=0.05) is False


def test_keys_hold_no_number_and_expire(redis_conn):
    fence = OptOutFence(redis_conn)
    fence.enter(HASH)
    fence.seal(HASH, wait=0.01)
    keys = [k.decode() for k in redis_conn.keys("rallyline:optout:*")]
    assert keys and all(HASH in k for k in keys)
    assert all(0 < redis_conn.ttl(k) <= 600 for k in keys)


def test_exchange_leaves_and_enters_many_in_one_round_trip(redis_conn):
    fence = OptOutFence(redis_conn)
    sealed, other = "c" * 64, "d" * 64
    fence.seal(sealed)
    assert fence.exchange([], [HASH, sealed, other]) == [True, False, True]
    assert fence.seal(HASH, wait=0.05) is False, "HASH is in flight"
    assert fence.exchange([HASH, other], []) == []
    assert fence.seal(HASH, wait=0.05) is True and fence.seal(other, wait=0.05) is True
