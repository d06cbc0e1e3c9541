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

The guarantee holds at Redis, at the moment of each grant. A send reaches the
carrier a little later and with some jitter, so set the rate a little below
the carrier's limit rather than exactly on it.
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

# Priority: an alert page that finds the window full registers as waiting, in a
# second sorted set scored by when its registration lapses. Each waiting alert
# reserves one slot: bulk may only take a slot while grants + waiting alerts
# stay under the limit, so the next slots to free up go to the alerts, in
# whatever order they come back for them. This is simpler than a queue and
# cannot starve an alert, because bulk never takes a slot an alert is owed.
# An alert that gives up withdraws; one that dies lapses after a few windows.
#
# A grant still counts when it is exactly `window` old (the trim is exclusive),
# so even a closed window of that length holds at most `limit` grants.
#
# Times are integer microseconds; they fit a Lua double exactly, but Lua's
# tostring would round them, hence string.format where one becomes a string.
_ACQUIRE_LUA = """
-- Before Redis 5, writes after a non-deterministic command (TIME) need this.
if redis.replicate_commands then redis.replicate_commands() end

local grants, waiting = KEYS[1], KEYS[2]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local priority = ARGV[3] == '1'
local member, waiter = ARGV[4], ARGV[5]
local waiter_ttl = tonumber(ARGV[6])

local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])

redis.call('ZREMRANGEBYSCORE', grants, '-inf', string.format('(%.0f', now - window))
redis.call('ZREMRANGEBYSCORE', waiting, '-inf', string.format('%.0f', now))

local used = redis.call('ZCARD', grants)
local reserved = 0
if not priority then
  reserved = redis.call('ZCARD', waiting)
end

if used + reserved < limit then
  redis.call('ZADD', grants, now, member)
  redis.call('PEXPIRE', grants, math.ceil(window / 1000) + 1)
  if priority then
    redis.call('ZREM', waiting, waiter)
  end
  return {0, now}
end

if priority then
  redis.call('ZADD', waiting, now + waiter_ttl, waiter)
  redis.call('PEXPIRE', waiting, math.ceil(waiter_ttl / 1000) + 1)
end

-- Room comes back when enough of the oldest grants have left the window to
-- cover this request and every slot reserved ahead of it.
local needed = used + reserved - limit + 1
if needed <= used then
  local entry = redis.call('ZRANGE', grants, needed - 1, needed - 1, 'WITHSCORES')
  return {tonumber(entry[2]) + window - now + 1, now}
end
-- More alerts waiting than the window holds: look again after one slot's time.
return {math.ceil(window / limit), now}
"""


class Attempt(NamedTuple):
    wait: float  # 0.0 when granted, else seconds before a slot can free up
    redis_time: float  # Redis's clock at the decision, in seconds since the epoch


class RateLimiter:
    """At most `rate_per_second` grants per second, across every process.

    `window_seconds` is the span the rate is enforced over: at most
    rate_per_second * window_seconds grants in any window of that length, which
    is also the largest burst. A rate of zero or less means unlimited.
    """

    def __init__(
        self,
        connection: redis.Redis,
        rate_per_second: int,
        key: str = DEFAULT_KEY,
        window_seconds: float = 1.0,
    ) -> None:
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        self.rate_per_second = rate_per_second
        self.key = key
        self.waiting_key = f"{key}:priority-waiting"
        # The epsilon keeps 50 * 0.2 (10.000000000000002) and 3 * 0.1
        # (0.30000000000000004) from flooring one grant away or letting one in.
        self.limit = math.floor(rate_per_second * window_seconds + 1e-9)
        if rate_per_second > 0 and self.limit < 1:
            raise ValueError("rate_per_second * window_seconds must allow at least one send")
        self._window_us = round(window_seconds * 1_000_000)
        # An alert refreshes its registration on every attempt, at most a
        # window apart; three windows leave room for a slow Redis or a GC pause.
        self._waiter_ttl_us = 3 * self._window_us
        self._connection = connection
        self._script = connection.register_script(_ACQUIRE_LUA)
        self._instance = uuid.uuid4().hex
        self._grants = itertools.count()

    @property
    def unlimited(self) -> bool:
        return self.rate_per_second <= 0

    def attempt(self, priority: bool = False) -> Attempt:
        """One try at a slot (one EVALSHA), with Redis's time of the decision."""
        if self.unlimited:
            return Attempt(0.0, time.time())
        waiter = self._waiter_id()
        wait_us, now_us = self._script(
            keys=[self.key, self.waiting_key],
            args=[
                self.limit,
                self._window_us,
                1 if priority else 0,
                f"{waiter}:{next(self._grants)}",
                waiter,
                self._waiter_ttl_us,
            ],
        )
        return Attempt(wait_us / 1_000_000, now_us / 1_000_000)

    def try_acquire(self, priority: bool = False) -> float:
        """0.0 if a slot was taken, else the seconds to wait before trying again.

        A refused priority attempt keeps a slot reserved for the caller for a
        few windows: call again after the wait, or the reservation lapses.
        """
        return self.attempt(priority).wait

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
