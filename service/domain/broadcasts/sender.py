"""Sending a chunk: claim a small group, hand it to a few threads, record the group.

One twilio client per thread (the client is not thread-safe; each keeps its own
keep-alive connection). Every text takes a token from the shared rate limiter
right before the provider call, so pacing holds per text however many threads
and workers run. A watcher thread polls the database a few times a second: an
ABORT or a STOP that lands while a group is in flight stops the texts not yet
handed over, and it renews the chunk's lease so the clock knows the job lives.

The group is kept small (two texts per thread) because a kill -9 between claim
and record leaves the group's texts "unknown": the group size bounds that
handful, as the one-text core bounds it at one.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from service.database import Database
from service.domain.broadcasts import fanout, preview
from service.domain.broadcasts.fanout import ChunkLease, Claimed, Outcome
from service.domain.sending import Pacer
from service.gateway.base import SendError, SmsGateway
from service.models import Subscriber, utcnow
from service.models.broadcasts import Broadcast
from service.vault import Vault

log = logging.getLogger(__name__)

WATCH_INTERVAL = 0.1  # seconds between abort / opt-out checks while texts are in flight
RENEW_EVERY = 3.0  # seconds between chunk lease renewals (the lease is 15 s)
PACER_POLL = 0.25  # an ABORT is noticed this often while waiting for a rate token


class Sender:
    """A worker process's sending machinery: a thread pool and one gateway per thread."""

    def __init__(
        self,
        database: Database,
        vault: Vault,
        pacer: Pacer,
        gateway_factory: Callable[[], SmsGateway],
        threads: int = 8,
    ) -> None:
        self.database = database
        self.vault = vault
        self.pacer = pacer
        self.threads = threads
        self.group_size = 2 * threads
        self._gateway_factory = gateway_factory
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="bcast-send")
        rate = getattr(pacer, "rate_per_second", 0)
        self._spacing = Spacing(1.0 / rate if rate > 0 else 0.0)

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def gateway(self) -> SmsGateway:
        gateway = getattr(self._local, "gateway", None)
        if gateway is None:
            gateway = self._local.gateway = self._gateway_factory()
        return gateway

    def run_chunk(self, chunk_id: int) -> ChunkReport | None:
        """Send what is queued in one chunk; None if another live job holds it."""
        token = uuid.uuid4().hex
        with self.database.session() as session:
            lease = fanout.take_chunk(session, chunk_id, token, utcnow())
            if lease is None:
                return None
            broadcast = session.get(Broadcast, lease.broadcast_id)
            assert broadcast is not None
            default, translations = preview.bodies(self.vault, broadcast)
            validity = broadcast.validity_period
        report = ChunkReport(chunk_id, unknown=lease.abandoned)
        watch = Watch(self.database, lease)
        watch.start()
        try:
            self._send_chunk(lease, watch, report, default, translations, validity)
            if not watch.lost.is_set():
                with self.database.session() as session:
                    report.done = fanout.finish_chunk(session, lease, utcnow())
        finally:
            watch.stop()
        return report

    def _send_chunk(
        self,
        lease: ChunkLease,
        watch: Watch,
        report: ChunkReport,
        default: str,
        translations: dict[str, str],
        validity: int,
    ) -> None:
        not_before: dict[int, float] = {}  # message id -> monotonic time it may be retried

        def send(text: Claimed) -> Outcome:
            return self._send_one(text, translations.get(text.language, default), validity, watch)

        while not watch.stopped:
            now = time.monotonic()
            waiting = [mid for mid, at in not_before.items() if at > now]
            with self.database.session() as session:
                batch = fanout.claim_batch(
                    session, self.vault, lease, self.group_size, utcnow(), waiting
                )
            report.skipped += batch.skipped
            if not batch:
                if not waiting:
                    return
                # Only texts in backoff remain: wait for the first (or an abort).
                watch.stopping.wait(max(0.0, min(not_before[m] for m in waiting) - now))
                continue
            for text in batch.ready:
                not_before.pop(text.message_id, None)
            watch.inflight = frozenset(t.subscriber_id for t in batch.ready)
            outcomes = list(self._pool.map(send, batch.ready))
            watch.inflight = frozenset()
            with self.database.session() as session:
                retries = fanout.record_batch(session, outcomes, utcnow())
            report.add(outcomes)
            for message_id, delay in retries:
                not_before[message_id] = time.monotonic() + delay

    def _send_one(self, text: Claimed, body: str, validity: int, watch: Watch) -> Outcome:
        if watch.lost.is_set():
            return Outcome(text, skipped="released")
        if watch.aborted.is_set():
            return Outcome(text, skipped="aborted")
        # Built (and warmed) before the token is taken: a thread's first text would
        # otherwise reach the provider long after its grant and bunch up with later ones.
        gateway = self.gateway()
        self._spacing.wait()
        while not self.pacer.acquire(timeout=PACER_POLL):
            if watch.stopped:
                return Outcome(text, skipped="released" if watch.lost.is_set() else "aborted")
        # Re-checked after the wait for a token: STOP and ABORT win over a token in hand.
        if watch.aborted.is_set():
            return Outcome(text, skipped="aborted")
        if text.subscriber_id in watch.opted_out:
            return Outcome(text, skipped="opted out")
        try:
            provider_sid = gateway.send(text.to, body, validity_period=validity)
        except SendError as error:
            return Outcome(text, error=error)
        except Exception as error:  # noqa: BLE001 - a bug after the request may have gone out
            log.exception("unexpected error sending broadcast text %s", text.message_id)
            return Outcome(text, error=SendError(f"unexpected: {error!r}", ambiguous=True))
        return Outcome(text, provider_sid=provider_sid)


class Spacing:
    """At most one token request per `interval` from this process's threads.

    The shared limiter grants a whole window's worth at once when its window is
    empty, and would keep that burst shape forever (each slot frees one window
    after it was granted). A burst makes the send threads and the provider queue
    up, so texts granted together reach the provider spread out, and the spread
    differs from one window to the next: seen from the carrier, one second then
    holds more than the rate. Spacing each process's requests at the rate keeps the
    grants, and so the sends, evenly spread.
    """

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._next = 0.0

    def wait(self) -> None:
        if self.interval <= 0:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)


@dataclass
class ChunkReport:
    chunk_id: int
    sent: int = 0
    failed: int = 0
    retried: int = 0
    skipped: int = 0
    unknown: int = 0
    done: bool = False

    def add(self, outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            if outcome.provider_sid:
                self.sent += 1
            elif outcome.skipped:
                self.skipped += 1
            elif outcome.error is not None and outcome.error.ambiguous:
                self.unknown += 1
            elif outcome.error is not None and outcome.error.retryable:
                self.retried += 1
            else:
                self.failed += 1


@dataclass
class Watch:
    """Polls the database while a chunk is being sent (see the module docstring)."""

    database: Database
    lease: ChunkLease
    inflight: frozenset[int] = frozenset()
    opted_out: set[int] = field(default_factory=set)
    aborted: threading.Event = field(default_factory=threading.Event)
    lost: threading.Event = field(default_factory=threading.Event)
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, name="bcast-watch", daemon=True)
        self._renewed = time.monotonic()

    @property
    def stopped(self) -> bool:
        return self.aborted.is_set() or self.lost.is_set()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self._thread.join()

    def _run(self) -> None:
        while not self.stopping.wait(WATCH_INTERVAL):
            try:
                self.check(utcnow())
            except SQLAlchemyError as exc:  # a blip: the next round tries again
                log.warning("broadcast watch: %s", exc)

    def check(self, now: datetime) -> None:
        with self.database.engine.connect() as connection:
            state = connection.scalar(
                select(Broadcast.state).where(Broadcast.id == self.lease.broadcast_id)
            )
            if state != "sending":
                self.aborted.set()
                self.stopping.set()
            inflight = self.inflight
            if inflight:
                self.opted_out.update(
                    connection.scalars(
                        select(Subscriber.id).where(
                            Subscriber.id.in_(inflight), Subscriber.status != "active"
                        )
                    )
                )
        if time.monotonic() - self._renewed >= RENEW_EVERY:
            with self.database.engine.begin() as connection:
                if not fanout.renew_chunk(connection, self.lease, now):
                    log.warning("chunk %s: lease lost to another job", self.lease.chunk_id)
                    self.lost.set()
            self._renewed = time.monotonic()


def advance(
    database: Database,
    broadcast_id: int,
    on_chunks: Callable[[list[int]], None],
    on_not_due: Callable[[datetime], None],
) -> str:
    """Start a due broadcast and plan its audience, handing each batch of chunks on as it is
    committed (sending starts while planning goes on). Safe to run twice or concurrently."""
    with database.session() as session:
        broadcast = fanout.start_if_due(session, broadcast_id, utcnow())
        if broadcast is None:
            return "missing"
        state, send_at = broadcast.state, broadcast.send_at
    if state == "scheduled" and send_at is not None:
        on_not_due(send_at)
        return state
    if state != "sending":
        return state
    token = uuid.uuid4().hex
    while True:
        with database.session() as session:
            step = fanout.plan_batch(session, broadcast_id, token, utcnow())
        if step is None:
            break
        if step.chunk_ids:
            on_chunks(step.chunk_ids)
        if step.done:
            with database.session() as session:
                fanout.finish_broadcast(session, broadcast_id, utcnow())
            break
    return "sending"
