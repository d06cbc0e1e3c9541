"""Jobs that send one-off texts (notices, confirmations) through the ledger."""

from __future__ import annotations

from service.domain import sending
from workers.runtime import current


def deliver_notice(message_id: int) -> str:
    """Send one queued ledger message. A retryable error raises, and RQ's Retry backs off."""
    rt = current()
    return sending.send_one(rt.database, rt.vault, rt.gateway, rt.pacer, message_id, fence=rt.fence)
