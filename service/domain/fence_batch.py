"""The opt-out fence as a ProviderLoop sees it: one round trip per loop turn.

Every page enters the fence right before its provider call and leaves it after
(see service.optout_fence). With a tier's pages in flight at once, a blocking
Redis call each would stall the event loop twice per page; instead the calls made
in one turn of the loop are gathered and sent together, right after that turn.
(The broadcast sender enters and leaves a claimed batch at a time instead.)
"""

from __future__ import annotations

import asyncio
import logging

from service.domain.sending import Fence

log = logging.getLogger(__name__)

LEAVE_DELAY = 0.005  # seconds


class FenceBatch:
    """Use from inside one event loop only."""

    def __init__(self, fence: Fence) -> None:
        self.fence = fence
        self._entering: list[tuple[str, asyncio.Future[bool]]] = []
        self._leaving: list[str] = []
        self._flush_at: asyncio.Handle | None = None
        # Whether the flush waits LEAVE_DELAY (for leaves) rather than the next turn.
        # Not told by the handle's type: uvloop's timer handles are not asyncio's.
        self._delayed = False

    async def enter(self, phone_hash: str) -> bool:
        """False if the number opted out meanwhile; raises if the fence cannot be asked."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[bool] = loop.create_future()
        self._entering.append((phone_hash, answer))
        if self._flush_at is not None and self._delayed:
            self._flush_at.cancel()
            self._flush_at = None
        if self._flush_at is None:
            self._flush_at = loop.call_soon(self._flush)
            self._delayed = False
        return await answer

    def leave(self, phone_hash: str) -> None:
        """Leaves wait a moment for the next enters to ride along: a STOP's
        confirmation waits that much longer, a text never does."""
        self._leaving.append(phone_hash)
        if self._flush_at is None:
            self._flush_at = asyncio.get_running_loop().call_later(LEAVE_DELAY, self._flush)
            self._delayed = True

    def _flush(self) -> None:
        self._flush_at = None
        entering, self._entering = self._entering, []
        leaving, self._leaving = self._leaving, []
        try:
            admitted = self.fence.exchange(leaving, [phone_hash for phone_hash, _ in entering])
        except Exception as exc:  # noqa: BLE001 - Redis down: the texts wait, none goes unchecked
            if leaving:
                # Their in-flight counts lapse on their own (IN_FLIGHT_FOR).
                log.warning("opt-out fence: %d leaves lost: %s", len(leaving), type(exc).__name__)
            for _, answer in entering:
                if not answer.done():
                    answer.set_exception(exc)
            return
        for (phone_hash, answer), ok in zip(entering, admitted, strict=True):
            if not answer.done():
                answer.set_result(ok)
            elif ok:  # its text was cancelled meanwhile: it is not in flight
                self.leave(phone_hash)
