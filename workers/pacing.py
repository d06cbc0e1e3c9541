"""The send rate limiter every worker shares through Redis.

Carriers give each sender a fixed throughput and Twilio queues whatever goes
over it, for hours and beyond our reach to cancel, so the workers together must
never ask for more than the configured messages per second.

The limiter is a sliding-window log: a sorted set holding the Redis time of
every grant in the last window. One Lua script trims it, counts it and adds the
new grant atomically, so any number of processes can share it, and it reads the
clock with Redis's TIME so the workers' own clocks do not matter. Unlike a
counter per calendar second it has no boundary at which two windows' worth of
sends can go out back to back.

The guarantee is made at Redis, at the moment of each grant, but a send starts
when the reply reaches the worker, a fraction of a millisecond later usually and
several milliseconds on a busy host. A grant that came back late and one made a
window after it could then start less than a window apart. So each grant is
held a small margin longer than the window (DEFAULT_MARGIN_SECONDS): the rate
seen by the workers, and by the carrier, stays within the limit at the cost of
about 2% of throughput. Jitter beyond the margin (a stalled process) can still
show through; keep the configured rate a little below the carrier's.
"""

from __future__ import annotations

import itertools
import math
import os
import threading
import time
import uuid
from typing import NamedTuple

import redis

DEFAULT_KEY = "rallyline:pacing:sends"
# Measured on a 2-core host with three workers: the reply reaches a worker up to
# 4-8 ms after Redis made the grant. 25 ms covers that with room to spare and
# costs 2.4% of a one-second window.
DEFAULT_MARGIN_SECONDS = 0.025

# Priority: an alert page that finds the window full registers as waiting, in a
# second sorted set scored by when its registration lapses. Each waiting alert
# reserves one slot: bulk may only take a slot while grants + waiting alerts
# stay under the limit, so the next slots to free up go to the alerts, in
# whatever order they come back for them. This is simpler than a queue and
# cannot starve an alert, because bulk never takes a slot an alert is owed.
# An alert that gives up withdraws; one that dies lapses after a few windows.
#
# `hold` is the window plus the margin. A grant still counts when it is exactly
# `hold` old (the trim is exclusive), so even a closed window of that length
# holds at most `limit` grants.
#
# Times are integer microseconds; they fit a Lua double exactly, but Lua's
# tostring would round them, hence string.format where one becomes a string.
_ACQUIRE_LUA = """
-- Before Redis 5, writes after a non-deterministic command (TIME) need this.
if redis.replicate_commands then redis.replicate_commands() end

local grants, waiting = KEYS[1], KEYS[2]
local limit = tonumber(ARGV[1])
local hold = tonumber(ARGV[2])
local priority = ARGV[3] == '1'
local member, waiter = ARGV[4], ARGV[5]
local waiter_ttl = tonumber(ARGV[6])

local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])

redis.call('ZREMRANGEBYSCORE', grants, '-inf', string.format('(%.0f', now - hold))
redis.call('ZREMRANGEBYSCORE', waiting, '-inf', string.format('%.0f', now))

local used = redis.call('ZCARD', grants)
local reserved = 0
if not priority then
  reserved = redis.call('ZCARD', waiting)
end

if used + reserved < limit then
  redis.call('ZADD', grants, now, member)
  redis.call('PEXPIRE', grants, math.ceil(hold / 1000) + 1)
  if priority then
    redis.call('ZREM', waiting, waiter)
  end
  return {0, now}
end

if priority then
  redis.call('ZADD', waiting, now + waiter_ttl, waiter)
  redis.call('PEXPIRE', waiting, math.ceil(waiter_ttl / 1000) + 1)
end

-- Room comes back when enough of the oldest grants have been held long enough to
-- cover this request and every slot reserved ahead of it.
local needed = used + reserved - limit + 1
if needed <= used then
  local entry = redis.call('ZRANGE', grants, needed - 1, needed - 1, 'WITHSCORES')
  return {tonumber(entry[2]) + hold - now + 1, now}
end
-- More alerts waiting than the window holds: look again after one slot's time.
return {math.ceil(hold / limit), now}
"""


class Attempt(NamedTuple):
    wait: float  # 0.0 when granted, else seconds before a slot can free up
    redis_time: float  # Redis's clock at the decision, in seconds since the epoch


class RateLimiter:
    """At most `rate_per_second` grants per second, across every process.

    `window_seconds` is the span the rate is enforced over: at most
    rate_per_second * window_seconds grants in any window of that length, which
    is also the largest burst. Each grant is held `margin_seconds` longer than
    the window to absorb the time its reply takes to reach the worker (see the
    module docstring). A rate of zero or less means unlimited.
    """

    def __init__(
        self,
        connection: redis.Redis,
        rate_per_second: int,
        key: str = DEFAULT_KEY,
        window_seconds: float = 1.0,
        margin_seconds: float = DEFAULT_MARGIN_SECONDS,
    ) -> None:
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        if margin_seconds < 0:
            raise ValueError("margin_seconds must not be negative")
        self.rate_per_second = rate_per_second
        self.key = key
        self.waiting_key = f"{key}:priority-waiting"
        # Binary floats make 100 * 0.29 come out as 28.999999999999996; the
        # epsilon keeps that from flooring to 28.
        self.limit = math.floor(rate_per_second * window_seconds + 1e-9)
        if rate_per_second > 0 and self.limit < 1:
            raise ValueError("rate_per_second * window_seconds must allow at least one send")
        self._hold_us = round((window_seconds + margin_seconds) * 1_000_000)
        # An alert refreshes its registration on every attempt, at most a
        # window apart; three windows leave room for a slow Redis or a GC pause.
        self._waiter_ttl_us = 3 * self._hold_us
        self._connection = connection
        self._script = connection.register_script(_ACQUIRE_LUA)
        self._instance = uuid.uuid4().hex
        self._grants = itertools.count()

    @property
    def unlimited(self) -> bool:
        return self.rate_per_second <= 0

    def attempt(self, priority: bool = False, waiter: str | None = None) -> Attempt:
        """One try at a slot (one EVALSHA), with Redis's time of the decision.

        `waiter` names who holds a refused priority attempt's reservation (default:
        this thread); coroutines sharing a thread each pass their own.
        """
        if self.unlimited:
            return Attempt(0.0, time.time())
        waiter = waiter or self._waiter_id()
        wait_us, now_us = self._script(
            keys=[self.key, self.waiting_key],
            args=[
                self.limit,
                self._hold_us,
                1 if priority else 0,
                f"{waiter}:{next(self._grants)}",
                waiter,
                self._waiter_ttl_us,
            ],
        )
        return Attempt(wait_us / 1_000_000, now_us / 1_000_000)

    def try_acquire(self, priority: bool = False, waiter: str | None = None) -> float:
        """0.0 if a slot was taken, else the seconds to wait before trying again.

        A refused priority attempt keeps a slot reserved for the caller for a
        few windows: call again after the wait, or the reservation lapses.
        """
        return self.attempt(priority, waiter).wait

    def acquire(self, priority: bool = False, timeout: float | None = None) -> bool:
        """Block until a slot is taken (True) or `timeout` seconds pass (False)."""
        if self.unlimited:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = self.try_acquire(priority)
            if wait == 0.0:
                return True
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    if priority:
                        self._withdraw()
                    return False
                # Sleep to the deadline, not past it, and try once more there:
                # returning early would turn a caller's retry loop into a spin.
                wait = min(wait, remaining)
            time.sleep(wait)

    def _withdraw(self) -> None:
        # Hand the reserved slot back to bulk now instead of when it lapses.
        self._connection.zrem(self.waiting_key, self._waiter_id())

    def _waiter_id(self) -> str:
        # One id per thread of one process: a forked child shares _instance,
        # and each thread waits for its own slot.
        return f"{self._instance}:{os.getpid()}:{threading.get_ident()}"
