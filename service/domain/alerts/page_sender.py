"""Sending a tier's pages at once: one claim, every page with the provider together, one record.

A page is a ledger text like any other (claimed before the provider is called,
its outcome recorded after), but a tier's pages go out together: each waits for
its own priority token, enters the opt-out fence and is handed to the provider
on the process's ProviderLoop, all of them concurrently, so the last responder
is paged about as soon as the first. A page that outlives its worker is
"unknown" (the sweep reports it), and one whose error is retryable is left
queued for the clock's re-drive.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol

from service.database import Database
from service.domain import sending
from service.domain.provider_loop import FenceUnavailable, ProviderLoop
from service.domain.sending import Prepared
from service.gateway.base import SendError
from service.models import utcnow
from service.vault import Vault

TOKEN_POLL = 0.05  # seconds: the longest a page sleeps between asks for a token

# A page that never reached the provider because Redis was down goes back to the queue
# as if never taken, so the clock's sweep sends it again as soon as Redis is back.
UNTRIED = object()
Answer = str | SendError | None | object


class PriorityPacer(Protocol):
    """What pages need from the rate limiter (workers.pacing.RateLimiter has it)."""

    def try_acquire(self, priority: bool = False, waiter: str | None = None) -> float: ...


@dataclass(frozen=True)
class PageResult:
    message_id: int
    status: str  # the ledger status recorded: sent, failed, queued (to retry), unknown, ...


class PageSender:
    def __init__(
        self, database: Database, vault: Vault, pacer: PriorityPacer, provider: ProviderLoop
    ) -> None:
        self.database = database
        self.vault = vault
        self.pacer = pacer
        self.provider = provider

    def send(self, message_ids: list[int]) -> list[PageResult]:
        """Send the queued ones among `message_ids`; what is not ours to send is left alone."""
        with self.database.session() as session:
            pages = sending.claim_many(session, self.vault, message_ids, utcnow())
        if not pages:
            return []
        answers = self.provider.run(self._send_all(pages))
        results: list[PageResult] = []
        with self.database.session() as session:
            now = utcnow()
            for page, answer in zip(pages, answers, strict=True):
                if answer is UNTRIED:
                    status = sending.release(session, page.message_id)
                elif isinstance(answer, SendError):
                    status = sending.record_failure(session, page.message_id, answer, now)
                elif answer is None:
                    status = sending.record_skipped(session, page.message_id, now)
                else:
                    sending.record_sent(session, page.message_id, answer, now)
                    status = "sent"
                results.append(PageResult(page.message_id, status))
        return results

    async def _send_all(self, pages: list[Prepared]) -> list[Answer]:
        return list(await asyncio.gather(*(self._send_page(page) for page in pages)))

    async def _send_page(self, page: Prepared) -> Answer:
        """The provider's sid, its error, None when a STOP sealed the number meanwhile, or
        UNTRIED when Redis (fence or rate limiter) could not be asked."""
        waiter = f"page:{page.message_id}"
        try:
            async with self.provider.fenced(self.vault.lookup_hash(page.to)) as may_go:
                if not may_go:
                    return None
                try:
                    while (wait := self.pacer.try_acquire(priority=True, waiter=waiter)) > 0:
                        await asyncio.sleep(min(wait, TOKEN_POLL))
                except Exception:  # noqa: BLE001 - Redis gone: not tried
                    return UNTRIED
                return await self.provider.send(page.to, page.body)
        except FenceUnavailable:
            return UNTRIED
        except SendError as error:
            return error
