"""Broadcast jobs: start and plan a broadcast, send a chunk, and the clock's re-drive.

Jobs take ids, open their own sessions and are safe to run twice: the database
(leases, the ledger's conditional updates) decides who does what, RQ only
carries hints. Each worker process keeps one Sender: its event loop and the
asyncio Twilio client outlive jobs, so connections stay warm.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime
from functools import cache
from typing import Any

from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from service.domain.broadcasts import chunks, planning, quiet_hours
from service.domain.broadcasts.chunks import ChunkLease
from service.domain.broadcasts.sender import Sender
from service.domain.broadcasts.sender import advance as advance_broadcast
from service.gateway.twilio_async import build_async_gateway
from service.models import utcnow
from service.runtime import Runtime
from workers.pacing import RateLimiter
from workers.runtime import current

log = logging.getLogger(__name__)

# A chunk job goes on to the broadcast's next free chunk while this many seconds have
# passed since it started (see Sender._chain): about a second, so a worker that also
# serves `alerts` still looks at its queues that often.
CHAIN_SECONDS = 1.0
CHUNK_RETRY = Retry(max=3, interval=[5, 15, 60])
WAITING = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


@cache
def sender() -> Sender:
    rt = current()
    return Sender(
        rt.database,
        rt.vault,
        _bulk_pacer(rt),
        lambda: build_async_gateway(rt.config),
        in_flight=rt.config.broadcast_sends_in_flight,
        fence=rt.fence,
        quiet_hours=(rt.config.quiet_hours, rt.config.timezone),
        chain_seconds=CHAIN_SECONDS,
        on_chained=lambda lease: call_off(rt, lease),
    )


# Broadcast texts share the limiter's key (and so its budget) with alert pages, but each
# bulk grant is held a little longer than the limiter's default margin: under load a
# granted text can reach the provider 20 ms or more after its grant (a busy CPU,
# a busy provider), and texts granted a window apart must not arrive closer
# than a window apart. It costs 6% of the rate; pages keep the default margin.
BULK_MARGIN_SECONDS = 0.06


def _bulk_pacer(rt: Runtime) -> RateLimiter:
    return RateLimiter(rt.redis, rt.config.send_rate_per_second, margin_seconds=BULK_MARGIN_SECONDS)


def advance(broadcast_id: int) -> str:
    """Start the broadcast when due and plan its audience; chunk jobs follow each batch."""
    rt = current()
    return advance_broadcast(
        rt.database,
        broadcast_id,
        on_chunks=lambda chunk_ids: enqueue_chunks(rt, chunk_ids),
        on_not_due=lambda at: schedule(rt, broadcast_id, at),
    )


def send_chunk(chunk_id: int) -> dict[str, Any] | None:
    report = sender().run_chunk(chunk_id)
    return asdict(report) if report else None


def call_off(rt: Runtime, lease: ChunkLease) -> None:
    """A chunk another job chained: its own job would only find it taken, and a worker
    would spend a few milliseconds on it with nothing in flight. Taken out of the queue
    while it still waits there (LREM answers 0 once a worker has it), and its record
    deleted, so the clock's sweep re-enqueues the chunk should the chaining job die."""
    job_id = chunk_job_id(lease.chunk_id, lease.attempt)
    try:
        if rt.queues.broadcasts.remove(job_id):
            rt.redis.delete(Job.key_for(job_id))
    except RedisError as exc:  # it runs, finds the chunk taken, and does nothing
        log.warning("chunk %s: its job not called off: %r", lease.chunk_id, exc)


def enqueue_chunks(rt: Runtime, chunk_ids: list[int], attempt: int = 0) -> None:
    """Hand chunks to RQ in one pipeline (enqueue_many), one job per chunk."""
    rate = rt.config.send_rate_per_second
    # A chunk at the configured rate, with room for retries; a hung job is cut off.
    timeout = max(600, int(3 * planning.CHUNK_SIZE / rate)) if rate > 0 else 600
    queue = rt.queues.broadcasts
    queue.enqueue_many(
        [
            Queue.prepare_data(
                send_chunk,
                args=(chunk_id,),
                job_id=chunk_job_id(chunk_id, attempt),
                timeout=timeout,
                retry=CHUNK_RETRY,
                failure_ttl=7 * 86400,
                result_ttl=3600,
            )
            for chunk_id in chunk_ids
        ]
    )


def chunk_job_id(chunk_id: int, attempt: int) -> str:
    return f"broadcast-chunk-{chunk_id}-{attempt}"


def schedule(rt: Runtime, broadcast_id: int, at: datetime) -> None:
    """A broadcast for later goes through RQ's scheduler (the sweep backs it up)."""
    job_id = f"broadcast-{broadcast_id}-at-{int(at.timestamp())}"
    if _waiting(rt, job_id):
        return
    rt.queues.broadcasts.enqueue_at(at, advance, broadcast_id, job_id=job_id, retry=CHUNK_RETRY)


def sweep_broadcasts() -> dict[str, int]:
    """Pause what quiet hours stop; re-drive whatever a lost or dead job left: due or
    stalled broadcasts, lapsed chunks."""
    rt = current()
    now = utcnow()
    with rt.database.session() as session:
        paused = quiet_hours.pause_sending(session, rt.config.quiet_hours, rt.config.timezone, now)
    for broadcast_id in paused:
        log.info("broadcast %s paused for quiet hours", broadcast_id)
    with rt.database.session() as session:
        stalled = chunks.stalled(session, now)
    with rt.database.session() as session:
        finished = chunks.finish_stalled(session, now)
    redriven = 0
    for broadcast_id in stalled.broadcasts:
        job_id = f"broadcast-{broadcast_id}-advance"
        if not _waiting(rt, job_id):
            rt.queues.broadcasts.enqueue(advance, broadcast_id, job_id=job_id, retry=CHUNK_RETRY)
            redriven += 1
    lapsed: list[tuple[int, int]] = []
    for chunk_id, _broadcast_id, attempt in stalled.chunks:
        if _waiting(rt, chunk_job_id(chunk_id, attempt)):
            continue  # still in the queue behind others: it will run
        with rt.database.session() as session:
            if chunks.bump_attempt(session, chunk_id, attempt):
                lapsed.append((chunk_id, attempt + 1))
    for chunk_id, attempt in lapsed:
        enqueue_chunks(rt, [chunk_id], attempt)
    if redriven or lapsed or finished:
        log.info(
            "broadcast sweep: %d broadcasts re-driven, %d chunks re-enqueued, %d finished",
            redriven,
            len(lapsed),
            finished,
        )
    return {
        "paused": len(paused),
        "broadcasts": redriven,
        "chunks": len(lapsed),
        "finished": finished,
    }


def _waiting(rt: Runtime, job_id: str) -> bool:
    try:
        job = Job.fetch(job_id, connection=rt.redis)
    except NoSuchJobError:
        return False
    return job.get_status(refresh=False) in WAITING
