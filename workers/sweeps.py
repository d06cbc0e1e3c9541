"""Periodic sweeps, run by the clock (`rq cron workers/cron.py`).

Each is one pass over the database, safe to run in two places at once: RQ
schedules are hints, these are the guarantee.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from service.domain import delivery, outbox, retention, sending, unknowns
from service.domain.context import Effect
from service.models import utcnow
from service.queues import DEFAULT
from workers.runtime import current

log = logging.getLogger(__name__)

# A notice still queued this long after it was written lost its RQ job.
NOTICE_GRACE = timedelta(seconds=30)

# Where the callback catch-up pass got to (an ISO timestamp). Lost with Redis, the
# pass starts again CALLBACKS_LOOKBACK back: applying a callback twice is harmless.
CALLBACKS_CURSOR = "rallyline:sweep:callbacks"
# A callback is looked at once both it and the record of its text have committed,
# each within a moment of the other; the margin also covers clocks a little apart.
CALLBACKS_SETTLE = timedelta(seconds=30)
# How far back a pass looks at most (after Redis or the clock was down).
CALLBACKS_LOOKBACK = timedelta(hours=1)


def sweep_sends() -> dict[str, int]:
    """Report abandoned claims as unknown; re-drive one-off notices whose job was lost."""
    rt = current()
    now = utcnow()
    with rt.database.session() as session:
        abandoned = sending.mark_abandoned_claims(session, now)
        stale = sending.queued_notice_ids(session, now - NOTICE_GRACE)
    # On default, not alerts: delivering one takes a bulk rate token, which during a
    # broadcast can hold a worker for a while, and the pager must stay free for pages
    # (alert texts are re-driven by the escalation sweep, in the pages' own lane).
    for message_id in stale:
        rt.enqueue(
            Effect(
                DEFAULT,
                "workers.sending.deliver_notice",
                (message_id,),
                job_id=f"notice-{message_id}",
            )
        )
    if abandoned or stale:
        log.info("sweep: %d claims marked unknown, %d notices re-driven", abandoned, len(stale))
    return {"unknown": abandoned, "redriven": len(stale)}


def catch_up_callbacks() -> int:
    """Apply status callbacks that the ledger missed (service/domain/delivery.py), each
    window of received callbacks once."""
    rt = current()
    now = utcnow()
    until = now - CALLBACKS_SETTLE
    since = until - CALLBACKS_LOOKBACK
    if (cursor := rt.redis.get(CALLBACKS_CURSOR)) is not None:
        try:
            since = max(since, datetime.fromisoformat(cursor.decode()))
        except ValueError:  # not ours: look the whole way back, then write ours over it
            log.warning("sweep: %s held %r, not a time", CALLBACKS_CURSOR, cursor)
    if since >= until:
        return 0
    with rt.database.session() as session:
        moved = delivery.catch_up(session, since, until, now)
    rt.redis.set(CALLBACKS_CURSOR, until.isoformat())
    if moved:
        log.info("sweep: %d texts caught up with callbacks that missed them", moved)
    return moved


def look_up_unknowns() -> dict[str, int]:
    """Ask the provider about texts whose outcome is unknown (service/domain/unknowns.py)."""
    rt = current()
    results = unknowns.look_up(rt.database, rt.vault, rt.gateway, utcnow())
    if results:
        log.info("unknown texts looked up: %s", results)
    return results


def drain_outbox() -> int:
    """Hand RQ the follow-up work the web process could not (Redis was down)."""
    rt = current()
    with rt.database.session() as session:
        waiting = outbox.waiting(session, utcnow())
    if not waiting:
        return 0
    handed = rt.hand_over(waiting)
    log.info("outbox: %d of %d waiting entries handed to RQ", handed, len(waiting))
    return handed


def apply_retention() -> dict[str, int]:
    """Delete bodies older than RETENTION_DAYS and expired one-time codes."""
    rt = current()
    with rt.database.session() as session:
        purged = retention.purge(session, utcnow(), rt.config.retention_days)
    log.info("retention: %s", purged)
    return purged
