"""The opt-out fence: a STOP is confirmed only when no text to that number is in flight.

Opt-out is checked when a text is claimed, but a broadcast text claimed a moment
before a STOP could still reach Twilio a moment after the STOP was confirmed.
Both sides meet in Redis, whose commands run one at a time:

- a sender calls ``enter`` before the provider call (the broadcast sender, for a
  claimed batch at once): it fails if the number is sealed, else counts the text
  as in flight; ``leave`` uncounts it after its outcome is known;
- the webhook, once the STOP is committed, calls ``seal``: it marks the number and
  waits until nothing is in flight for it, then the confirmation goes out.

So a text either entered first (and reached Twilio before the confirmation) or
sees the seal and is skipped. Keys carry the keyed hash of the number, never the
number, and expire on their own.
"""

from __future__ import annotations

import time

import redis

PREFIX = "rallyline:optout"
# Long enough for every text claimed before the STOP to have been tried; after that the
# database's opt-out, checked at every claim, is the lasting record.
SEALED_FOR = 600
IN_FLIGHT_FOR = 60  # seconds; a sender that died mid-call stops counting after this

# KEYS: the in-flight counters of the texts leaving, then (sealed, in-flight) pairs of
# those entering; ARGV[1]: how many leave, ARGV[2]: the in-flight expiry.
_EXCHANGE = """
local leaving = tonumber(ARGV[1])
for i = 1, leaving do redis.call('DECR', KEYS[i]) end
local admitted = {}
for i = leaving + 1, #KEYS, 2 do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    admitted[#admitted + 1] = 0
  else
    redis.call('INCR', KEYS[i + 1])
    redis.call('EXPIRE', KEYS[i + 1], ARGV[2])
    admitted[#admitted + 1] = 1
  end
end
return admitted
"""


class OptOutFence:
    def __init__(self, connection: redis.Redis) -> None:
        self.connection = connection
        self._exchange = connection.register_script(_EXCHANGE)

    def enter(self, phone_hash: str) -> bool:
        """Before the provider call: False if the number opted out meanwhile (skip the text)."""
        return self.exchange([], [phone_hash])[0]

    def leave(self, phone_hash: str) -> None:
        self.connection.decr(_keys(phone_hash)[1])

    def exchange(self, leaving: list[str], entering: list[str]) -> list[bool]:
        """Many leaves and enters in one round trip: whether each of `entering` may go.

        A busy sender has dozens of texts starting and finishing at once; one round
        trip each would make Redis, not the provider, the pace of a broadcast.
        """
        keys = [_keys(phone_hash)[1] for phone_hash in leaving]
        for phone_hash in entering:
            keys.extend(_keys(phone_hash))
        if not keys:
            return []
        admitted = self._exchange(keys=keys, args=[len(leaving), IN_FLIGHT_FOR])
        return [bool(result) for result in admitted]

    def seal(self, phone_hash: str, wait: float = 12.0) -> bool:
        """After the STOP is committed: no text enters from now on; wait for those in flight.

        Returns False if some were still in flight after ``wait`` seconds (the provider
        is that slow: they were handed over before the STOP's answer anyway).
        """
        sealed, in_flight = _keys(phone_hash)
        # The seal and the first look at the in-flight count travel together: Redis runs
        # them in order, so the count read is the one left after the seal went up.
        pipe = self.connection.pipeline(transaction=False)
        pipe.set(sealed, 1, ex=SEALED_FOR)
        pipe.get(in_flight)
        count = pipe.execute()[1]
        deadline = time.monotonic() + wait
        while int(count or 0) > 0:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
            count = self.connection.get(in_flight)
        return True

    def unseal(self, phone_hash: str) -> None:
        """The person opted back in."""
        self.connection.delete(_keys(phone_hash)[0])


def _keys(phone_hash: str) -> list[str]:
    return [f"{PREFIX}:sealed:{phone_hash}", f"{PREFIX}:sending:{phone_hash}"]
