from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis

from workers.pacing import DEFAULT_MARGIN_SECONDS, RateLimiter

ROOT = Path(__file__).resolve().parents[2]


def max_in_any_window(stamps_us: list[int], window_us: int) -> int:
    """Most stamps in any closed window of `window_us`, whatever its start."""
    stamps_us = sorted(stamps_us)
    most, start = 0, 0
    for end, stamp in enumerate(stamps_us):
        while stamp - stamps_us[start] > window_us:
            start += 1
        most = max(most, end - start + 1)
    return most


def test_grants_up_to_the_rate_then_says_how_long_to_wait(redis_conn: redis.Redis) -> None:
    limiter = RateLimiter(redis_conn, 10)
    started = time.monotonic()
    assert [limiter.try_acquire() for _ in range(10)] == [0.0] * 10
    wait = limiter.try_acquire()
    # The oldest grant leaves the window one second (and the margin) after it
    # was made.
    hold = 1.0 + DEFAULT_MARGIN_SECONDS
    assert hold - (time.monotonic() - started) - 0.05 < wait <= hold
    assert redis_conn.zcard(limiter.key) == 10


def test_a_slot_frees_up_after_the_wait(redis_conn: redis.Redis) -> None:
    limiter = RateLimiter(redis_conn, 10, window_seconds=0.3)
    assert [limiter.try_acquire() for _ in range(3)] == [0.0] * 3
    wait = limiter.try_acquire()
    assert 0.2 < wait <= 0.3 + DEFAULT_MARGIN_SECONDS
    time.sleep(wait)
    assert limiter.try_acquire() == 0.0


def test_acquire_blocks_at_the_rate(redis_conn: redis.Redis) -> None:
    limiter = RateLimiter(redis_conn, 20, window_seconds=0.2)  # 4 per 0.2 s
    started = time.monotonic()
    for _ in range(12):
        assert limiter.acquire()
    # Three windows' worth: a burst of 4 now, after one window (and the
    # margin), and after two.
    assert 0.4 + 2 * DEFAULT_MARGIN_SECONDS <= time.monotonic() - started < 0.6


def test_acquire_gives_up_at_the_timeout(redis_conn: redis.Redis) -> None:
    limiter = RateLimiter(redis_conn, 1)
    assert limiter.acquire()
    started = time.monotonic()
    assert not limiter.acquire(timeout=0.1)
    assert 0.1 <= time.monotonic() - started < 0.2
    assert not limiter.acquire(timeout=0)


def test_limiters_on_the_same_key_share_the_rate(redis_conn: redis.Redis) -> None:
    first, second = RateLimiter(redis_conn, 4), RateLimiter(redis_conn, 4)
    assert [limiter.try_acquire() for limiter in (first, second, first, second)] == [0.0] * 4
    assert first.try_acquire() > 0
    assert second.try_acquire() > 0
    assert RateLimiter(redis_conn, 4, key="another:sender").try_acquire() == 0.0


def test_zero_or_negative_rate_is_unlimited_and_never_touches_redis() -> None:
    # Nothing listens on port 1: any round trip would raise ConnectionError.
    unreachable = redis.Redis(host="127.0.0.1", port=1)
    for rate in (0, -5):
        limiter = RateLimiter(unreachable, rate)
        assert all(limiter.acquire(priority=bool(n % 2)) for n in range(1000))
        assert limiter.try_acquire() == 0.0


def test_rejects_a_window_that_allows_no_send(redis_conn: redis.Redis) -> None:
    with pytest.raises(ValueError):
        RateLimiter(redis_conn, 10, window_seconds=0)
    with pytest.raises(ValueError):
        RateLimiter(redis_conn, 1, window_seconds=0.5)
    assert RateLimiter(redis_conn, 50, window_seconds=0.2).limit == 10
    assert RateLimiter(redis_conn, 10, window_seconds=0.3).limit == 3


def test_keys_expire_so_a_crash_leaves_nothing_behind(redis_conn: redis.Redis) -> None:
    limiter = RateLimiter(redis_conn, 10, window_seconds=0.1, margin_seconds=0)
    assert limiter.try_acquire() == 0.0
    assert 0 < redis_conn.pttl(limiter.key) <= 101
    assert limiter.try_acquire(priority=True) > 0  # refused: registers as waiting
    assert 0 < redis_conn.pttl(limiter.waiting_key) <= 301
    time.sleep(0.35)
    assert redis_conn.keys("*") == []


def test_a_waiting_alert_gets_the_next_slot_before_bulk(redis_conn: redis.Redis) -> None:
    limiter = RateLimiter(redis_conn, 10, window_seconds=0.2)  # 2 per 0.2 s
    assert limiter.try_acquire() == 0.0
    assert limiter.try_acquire() == 0.0
    alert_wait = limiter.try_acquire(priority=True)
    assert alert_wait > 0
    time.sleep(alert_wait + 0.05)
    # Both grants have left the window: bulk may take one slot, but not the
    # one reserved for the alert...
    assert limiter.try_acquire() == 0.0
    assert limiter.try_acquire() > 0
    # ...which the alert then finds free.
    assert limiter.try_acquire(priority=True) == 0.0
    assert redis_conn.zcard(limiter.waiting_key) == 0


def test_an_alert_never_waits_for_bulk_to_be_served(redis_conn: redis.Redis) -> None:
    limiter = RateLimiter(redis_conn, 10, window_seconds=0.2)  # 2 per 0.2 s
    stop = threading.Event()

    def broadcast() -> None:
        own = RateLimiter(
            redis.Redis(connection_pool=redis_conn.connection_pool), 10, window_seconds=0.2
        )
        while not stop.is_set():
            own.acquire(timeout=0.05)

    senders = [threading.Thread(target=broadcast) for _ in range(3)]
    for sender in senders:
        sender.start()
    try:
        time.sleep(0.25)  # bulk owns the window now
        for _ in range(4):
            started = time.monotonic()
            assert limiter.acquire(priority=True, timeout=1.0)
            # With three bulk senders racing for each freed slot, an alert
            # without priority would win one race in four.
            assert time.monotonic() - started < 0.2 + DEFAULT_MARGIN_SECONDS + 0.05
    finally:
        stop.set()
        for sender in senders:
            sender.join()


def test_a_dead_alert_stops_holding_its_slot(redis_conn: redis.Redis) -> None:
    limiter = RateLimiter(redis_conn, 10, window_seconds=0.1, margin_seconds=0)  # 1 per 0.1 s
    assert limiter.try_acquire() == 0.0
    assert limiter.try_acquire(priority=True) > 0  # then never comes back
    time.sleep(0.15)
    assert limiter.try_acquire() > 0  # slot free, but held for the alert
    time.sleep(0.2)  # three windows after it registered
    assert limiter.try_acquire() == 0.0


def test_an_alert_that_times_out_releases_its_slot(redis_conn: redis.Redis) -> None:
    limiter = RateLimiter(redis_conn, 10, window_seconds=0.2)  # 2 per 0.2 s
    assert limiter.acquire() and limiter.acquire()
    assert not limiter.acquire(priority=True, timeout=0.05)
    assert redis_conn.zcard(limiter.waiting_key) == 0


# Each child acquires as fast as it can and records, for each grant, Redis's
# time (where the guarantee is made) and its own clock as the reply arrives
# (when the send would start, later by up to a few milliseconds).
CHILD = """
import json, sys, time
import redis
from workers.pacing import RateLimiter

url, rate, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
limiter = RateLimiter(redis.Redis.from_url(url), rate)
print("ready", flush=True)
sys.stdin.readline()
stamps, end = [], time.monotonic() + seconds
while time.monotonic() < end:
    attempt = limiter.attempt()
    if attempt.wait:
        time.sleep(min(attempt.wait, max(end - time.monotonic(), 0)))
    else:
        sent = time.time()
        stamps.append((round(attempt.redis_time * 1_000_000), round(sent * 1_000_000)))
print(json.dumps(stamps), flush=True)
"""


@pytest.mark.timeout(30)
def test_three_processes_never_exceed_the_rate_together(redis_url: str) -> None:
    rate, seconds = 50, 3.0
    redis.Redis.from_url(redis_url).flushdb()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, redis_url, str(rate), str(seconds)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(3)
    ]
    for child in children:
        assert child.stdout.readline().strip() == "ready"
    for child in children:
        child.stdin.write("go\n")
        child.stdin.flush()
    per_child = [json.loads(child.communicate(timeout=20)[0]) for child in children]
    assert all(child.returncode == 0 for child in children)

    grants = [grant for child_grants in per_child for grant in child_grants]
    assert all(per_child), "every process should have won some slots"
    assert max_in_any_window([granted for granted, _ in grants], 1_000_000) <= rate
    # Holds only because each grant is kept a margin past the window.
    assert max_in_any_window([sent for _, sent in grants], 1_000_000) <= rate
    assert len(grants) / seconds >= 45


def test_max_in_any_window() -> None:
    assert max_in_any_window([], 10) == 0
    assert max_in_any_window([0, 10, 11, 20, 21], 10) == 3
    assert max_in_any_window([5, 0, 10], 10) == 3
