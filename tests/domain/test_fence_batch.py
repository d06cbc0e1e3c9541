"""The opt-out fence as a provider loop reaches it: the calls of one loop turn in one
round trip, on the loop the workers run (uvloop) and on the standard library's."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable

import pytest

from service.domain import fence_batch
from service.domain.fence_batch import FenceBatch
from service.domain.provider_loop import new_event_loop


class CountingFence:
    def __init__(self) -> None:
        self.exchanges: list[tuple[list[str], list[str]]] = []
        self.sealed: set[str] = set()

    def enter(self, phone_hash: str) -> bool:
        raise AssertionError("a batch exchanges")

    def leave(self, phone_hash: str) -> None:
        raise AssertionError("a batch exchanges")

    def exchange(self, leaving: list[str], entering: list[str]) -> list[bool]:
        self.exchanges.append((leaving, entering))
        return [phone_hash not in self.sealed for phone_hash in entering]


LOOPS = pytest.mark.parametrize(
    "loop_factory", [new_event_loop, asyncio.new_event_loop], ids=["workers' loop", "asyncio"]
)


@LOOPS
def test_the_enters_of_one_turn_share_a_round_trip(
    loop_factory: Callable[[], asyncio.AbstractEventLoop],
) -> None:
    fence = CountingFence()
    fence.sealed.add("b")

    async def enter_three() -> list[bool]:
        batch = FenceBatch(fence)
        return list(await asyncio.gather(*(batch.enter(h) for h in ("a", "b", "c"))))

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        assert runner.run(enter_three()) == [True, False, True]
    assert fence.exchanges == [([], ["a", "b", "c"])]


@LOOPS
def test_an_enter_does_not_wait_out_the_delay_leaves_wait_for(
    loop_factory: Callable[[], asyncio.AbstractEventLoop], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A leave waits a moment for enters to ride along; an enter that comes meanwhile
    goes at once, taking the leave with it (it would have waited 30 s here)."""
    monkeypatch.setattr(fence_batch, "LEAVE_DELAY", 30.0)
    fence = CountingFence()

    async def leave_then_enter() -> bool:
        batch = FenceBatch(fence)
        batch.leave("a")
        async with asyncio.timeout(5):
            return await batch.enter("b")

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        assert runner.run(leave_then_enter()) is True
    assert fence.exchanges == [(["a"], ["b"])]


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop has no Windows build")
def test_the_workers_loop_is_uvloops() -> None:
    loop = new_event_loop()
    try:
        assert type(loop).__module__.startswith("uvloop")
    finally:
        loop.close()
