"""A worker process's asyncio side: one event loop in a thread of its own, with one
asyncio provider client on it, used by synchronous callers (RQ jobs).

The loop and the client outlive jobs, so connections to the provider stay warm.
The asyncio Twilio client costs a fraction of the CPU per text of the threaded
one, and many texts can wait on the provider at once in one thread. The opt-out
fence is reached through a FenceBatch, which gathers the calls of one loop turn
into one round trip.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable, Coroutine
from concurrent.futures import Future
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from service.domain.fence_batch import FenceBatch
from service.domain.sending import Fence
from service.gateway.base import SendError
from service.gateway.twilio_async import AsyncSmsGateway

log = logging.getLogger(__name__)
T = TypeVar("T")


class FenceUnavailable(SendError):
    """The opt-out fence could not be asked (Redis down): the text was not tried."""

    untried = True


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop where it is installed: its loop and transports are C, and
    a bulk sender's loop thread runs a few callbacks and two socket events per text.
    The standard library's loop otherwise (Windows)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class ProviderLoop:
    def __init__(
        self,
        gateway_factory: Callable[[], AsyncSmsGateway],
        fence: Fence | None = None,
        name: str = "provider",
    ) -> None:
        self._fence = FenceBatch(fence) if fence is not None else None
        self._loop = new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._thread.start()
        # Built now, inside the loop (aiohttp binds its session to it): built on the first
        # send instead, it would delay a text that already holds its rate token.
        self._gateway = self.run(_build(gateway_factory))

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.submit(coroutine).result()

    async def send(self, to: str, body: str, validity_period: int | None = None) -> str:
        """The provider's id for the text; raises SendError (ambiguous when unsure it went)."""
        try:
            return await self._gateway.send(to, body, validity_period=validity_period)
        except SendError:
            raise
        except Exception as error:  # noqa: BLE001 - a bug after the request may have gone out
            log.exception("unexpected error handing a text to the provider")
            raise SendError(f"unexpected: {error!r}", ambiguous=True) from None

    @asynccontextmanager
    async def fenced(self, phone_hash: str) -> AsyncIterator[bool]:
        """Inside: whether a text to this number may go (False: a STOP sealed it), counted
        in flight until the block ends. A fence that cannot be asked raises
        FenceUnavailable (a retryable SendError): the text waits rather than go unchecked."""
        if self._fence is None:
            yield True
            return
        try:
            entered = await self._fence.enter(phone_hash)
        except Exception as error:  # noqa: BLE001 - Redis down, or any other failure
            raise FenceUnavailable(f"opt-out fence: {error!r}", retryable=True) from None
        try:
            yield entered
        finally:
            if entered:
                self._fence.leave(phone_hash)

    def close(self) -> None:
        self.run(self._gateway.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


async def _build(factory: Callable[[], AsyncSmsGateway]) -> AsyncSmsGateway:
    return factory()
