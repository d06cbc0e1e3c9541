"""Sending a chunk: a steady stream of texts in flight, claimed and recorded in small batches.

Each worker process keeps one ProviderLoop (an asyncio loop in a thread of its
own, with the asyncio Twilio client on it) and keeps up to `in_flight` texts
with the provider at once, each as its own request.
Every text takes a token from the shared rate limiter right before the provider
call, so pacing holds per text however many workers run. A watcher thread polls
the database a few times a second: an ABORT or a STOP that lands while texts
are in flight stops the texts not yet handed over (a pause for quiet hours puts
them back in the queue), and it renews the chunk's lease so the clock knows the
job lives.

The job's thread claims more texts whenever room opens and records every text
finished by the time it wakes, in one transaction (on PostgreSQL, when all of
them were sent, in one statement), so no text waits for a slow neighbour: a
provider that answers in seconds still sees `in_flight` requests at all times.
Right after the transaction, one Redis round trip lets the recorded texts out
of the opt-out fence and the claimed ones in (see service.optout_fence). The
transaction and the round trip cost about the same for sixteen texts as for
one, so texts move in batches; only the provider calls are one per text. A
kill -9 between claim and record leaves the claimed texts "unknown": at most
twice `in_flight` are claimed and unrecorded at any moment (most_unrecorded),
which bounds that handful, as the one-text core bounds it at one.

When a rate limit paces the texts, most of those claimed would only be waiting
for rate tokens, and a kill would leave them unknown though they never went.
So a paced sender claims just enough to cover a claim's round trip at the
rate (paced_ahead): a kill then leaves the texts with the provider and a few.
"""

from __future__ import annotations

import asyncio
import logging
import math
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, select
from sqlalchemy.exc import SQLAlchemyError

from service.database import Database
from service.domain.broadcasts import chunks, claims, planning, preview
from service.domain.broadcasts.chunks import ChunkLease
from service.domain.broadcasts.claims import Claimed, Outcome
from service.domain.broadcasts.quiet_hours import QuietHours, is_quiet, pause_sending
from service.domain.provider_loop import FenceUnavailable, ProviderLoop
from service.domain.sending import Fence, Pacer, PacerUnavailable
from service.gateway.base import SendError
from service.gateway.twilio_async import AsyncSmsGateway
from service.models import Subscriber, utcnow
from service.models.broadcasts import Broadcast
from service.vault import Vault

log = logging.getLogger(__name__)

WATCH_INTERVAL = 0.1  # seconds between abort / opt-out checks while texts are in flight
RENEW_EVERY = 3.0  # seconds between chunk lease renewals (the lease is 15 s)
PACER_POLL = 0.25  # an ABORT is noticed this often while waiting for a rate token
GATHER_SECONDS = 0.02  # a finished text waits at most this long for others to share its record
STALE_GRANT = 0.02  # seconds: a rate token answered later than this is not used
# A paced sender keeps this many seconds of the rate claimed and not yet handed over
# (a claim's round trip takes a few milliseconds), and never fewer than MIN_AHEAD.
LOOK_AHEAD = 0.1
MIN_AHEAD = 2
# Texts turned away untried while Redis cannot be asked wait this long before their
# next try, doubling while it stays down (they use up none of their attempts).
OUTAGE_FIRST_WAIT = 0.25
OUTAGE_LONGEST_WAIT = 30.0


def most_unrecorded(in_flight: int) -> int:
    """Texts a sender holds claimed and not yet recorded, at most: what a kill -9 can
    leave unknown. Twice those in flight, so that the next ones are claimed before
    the provider is idle."""
    return 2 * in_flight


def paced_ahead(rate_per_second: float, in_flight: int) -> int:
    """Texts a sender keeps claimed and not yet handed to the provider. Unpaced, all it
    may hold (the provider sets the pace, and a group claimed ahead keeps it busy
    while the next is claimed); paced, what the rate uses up in LOOK_AHEAD, since
    every text claimed beyond that would wait for a rate token, and a kill would
    leave it unknown though it never went."""
    most = most_unrecorded(in_flight)
    if rate_per_second <= 0:
        return most
    return min(most, max(MIN_AHEAD, math.ceil(rate_per_second * LOOK_AHEAD)))


class Sender:
    """A worker process's sending machinery: an event loop thread and one gateway on it."""

    def __init__(
        self,
        database: Database,
        vault: Vault,
        pacer: Pacer,
        gateway_factory: Callable[[], AsyncSmsGateway],
        in_flight: int = 16,
        fence: Fence | None = None,
        quiet_hours: QuietHours | None = None,
        chain_seconds: float = 0.0,
        on_chained: Callable[[ChunkLease], None] | None = None,
    ) -> None:
        self.database = database
        self.vault = vault
        self.pacer = pacer
        self.in_flight = in_flight
        self._fence = fence
        self._quiet_hours = quiet_hours
        # The sender enters the fence itself, a batch at a time (see _admit): the loop
        # needs no fence of its own.
        self._provider = ProviderLoop(gateway_factory, name="bcast-send")
        self._slots = asyncio.Semaphore(in_flight)
        self._tasks: set[asyncio.Task[Outcome]] = set()  # touched on the loop only
        rate = getattr(pacer, "rate_per_second", 0)
        self._spacing = Spacing(1.0 / rate if rate > 0 else 0.0)
        self._outage = Outage()
        self.ahead = paced_ahead(rate, in_flight)
        # A job that has claimed all of its chunk within this many seconds of its start
        # takes the broadcast's next chunk nobody holds (see _chain); 0 never does.
        self.chain_seconds = chain_seconds
        # Told of each chunk chained: its own job, still waiting, can be called off.
        self._on_chained = on_chained

    def close(self) -> None:
        self._provider.close()

    def warm_up(self) -> None:
        """Run what a broadcast's start and a chunk run once, against rows that do not
        exist, and roll back. A process compiles each statement on its first use, and
        configures the ORM on its first query: about 60 ms before a fresh worker's
        first text, which every deploy would add to its first broadcast."""
        now = utcnow()
        try:
            session = self.database.sessionmaker()
            try:
                planning.warm_up(session, now)
                chunks.take_chunk(session, 0, "", now)
                chunks.take_next_chunk(session, 0, "", now)
                claims.claim_batch(session, self.vault, chunks.NOWHERE, 1, now)
                chunks.finish_chunk(session, chunks.NOWHERE, now)
            finally:
                session.rollback()
                session.close()
            if not self.database.is_sqlite:
                with self.database.autocommit() as connection:
                    claims.record_and_claim(connection, self.vault, {}, chunks.NOWHERE, 0, now)
            Watch(self.database, chunks.NOWHERE, inflight=frozenset({0})).check(now)
        except SQLAlchemyError as exc:  # the database is down: the first chunk pays instead
            log.warning("broadcast sender: warm-up skipped: %s", exc)

    def run_chunk(self, chunk_id: int) -> ChunkReport | None:
        """Send what is queued in one chunk, and in the chunks chained after it; None if
        another live job holds it."""
        token = uuid.uuid4().hex
        with self.database.session() as session:
            lease = chunks.take_chunk(session, chunk_id, token, utcnow())
            if lease is None:
                return None
            broadcast = session.get(Broadcast, lease.broadcast_id)
            assert broadcast is not None
            default, translations = preview.bodies(self.vault, broadcast)
            validity = broadcast.validity_period
            urgent = broadcast.urgent
            # A text not sent by then would reach the carrier past its validity anyway.
            late_after = (broadcast.send_at or utcnow()) + timedelta(seconds=validity)
        report = ChunkReport(chunk_id, unknown=lease.abandoned)
        watch = Watch(self.database, lease, quiet_hours=None if urgent else self._quiet_hours)
        watch.start()
        try:
            with self._claiming() as connection:
                held = self._send_chunks(
                    lease, watch, report, default, translations, validity, connection, late_after
                )
            if not watch.lost.is_set():
                with self.database.session() as session:
                    report.done = all(
                        [chunks.finish_chunk(session, chunk.lease, utcnow()) for chunk in held]
                    )
        finally:
            watch.stop()
        return report

    def _send_chunks(
        self,
        lease: ChunkLease,
        watch: Watch,
        report: ChunkReport,
        default: str,
        translations: dict[str, str],
        validity: int,
        connection: Connection | None,
        late_after: datetime,
    ) -> list[Held]:
        """Send the chunk's texts, chaining more chunks while time allows. Returns the
        chunks still held, for run_chunk to finish; those finished on the way are done."""
        held = [Held(lease)]
        started = time.monotonic()
        may_chain = self.chain_seconds > 0
        sending: dict[int, Claimed] = {}  # message id -> text, with the provider or queued
        finished_texts: Finished = queue.SimpleQueue()
        most = most_unrecorded(self.in_flight)
        # Claim and record a whole in-flight's worth at a time: the transaction and its
        # round trips are shared by that many texts, and the texts claimed ahead keep
        # the provider busy meanwhile. Paced, half of what is kept ahead.
        top_up = min(self.in_flight, max(1, self.ahead // 2))
        # Paced, the loop wakes this thread when enough texts have gone to the provider
        # for a claim (unpaced, texts finishing wake it, as they must be recorded).
        backlog = Backlog(
            wake=(lambda: finished_texts.put(None)) if self.ahead < most else None,
            wake_at=self.ahead - top_up,
        )
        finished: list[Outcome] = []
        entered: dict[int, str] = {}  # message id -> number hash, counted in the fence
        while True:
            now = time.monotonic()
            for chunk in held:
                if chunk.drained and chunk.retry_due(now):
                    chunk.drained = False
            # The first chunk held with texts that may go now: retries of an earlier
            # chunk go before the next chunk's first texts.
            target = next((chunk for chunk in held if not chunk.drained), None)
            if target is None and may_chain and not watch.stopped:
                if now - started < self.chain_seconds and (chained := self._chain(lease)):
                    target = Held(chained)
                    held.append(target)
                    watch.held = tuple(chunk.lease for chunk in held)
                    report.chained.append(chained.chunk_id)
                else:
                    may_chain = False  # out of time, or no chunk free: this job ends here
            # Unpaced, `ahead` is `most`, and this is the room left under it.
            room = min(most - len(sending), self.ahead - len(backlog))
            claiming = target if not watch.stopped and room >= top_up else None
            batch = None
            if finished or claiming:
                retries, batch = self._record_and_claim(
                    connection,
                    late_after,
                    finished,
                    claiming.lease if claiming else chunks.NOWHERE,
                    room if claiming else 0,
                    claiming.waiting(now) if claiming else [],
                )
            leaving = [
                entered.pop(o.text.message_id) for o in finished if o.text.message_id in entered
            ]
            if finished:
                report.add(finished)
                texts = {o.text.message_id: o.text for o in finished} if retries else {}
                for message_id, delay in retries:
                    _holder(held, texts[message_id]).not_before[message_id] = (
                        time.monotonic() + delay
                    )
                finished = []
            if batch is not None and claiming is not None:
                report.skipped += batch.skipped
                claiming.drained = len(batch.ready) + batch.skipped < room
                # A text claimed again waits for its retry no more, whatever comes of
                # it: sent, turned away at the fence, or skipped by the claim because
                # its recipient stopped meanwhile. A retry time kept for a text no
                # longer queued would have the chunk claim again and again, never ending.
                for message_id in [t.message_id for t in batch.ready] + batch.skipped_ids:
                    claiming.not_before.pop(message_id, None)
                admitted, finished = self._admit(batch.ready, leaving, entered)
                for text in admitted:
                    sending[text.message_id] = text
                backlog.given += len(admitted)
                # One hand-off to the loop for the whole batch, not one per text.
                self._provider.submit(
                    self._start(
                        [(t, translations.get(t.language, default)) for t in admitted],
                        validity,
                        watch,
                        finished_texts,
                        backlog,
                    )
                )
                # The watcher looks for opt-outs among the texts not yet recorded.
                watch.inflight = frozenset(t.subscriber_id for t in sending.values())
            elif leaving:
                self._admit([], leaving, entered)
            if len(held) > 1:
                self._finish_done(held, sending, finished, watch)
            if not sending:
                # Turned away at the fence (recorded on the next round), or a claim that
                # found only people gone since planning: the chunk is not done yet.
                if finished or not (target is None or watch.stopped):
                    continue
                retrying = [at for chunk in held for at in chunk.not_before.values()]
                if watch.stopped or not retrying:
                    return held
                # Only texts in backoff remain: wait for the first (or an abort).
                watch.stopping.wait(max(0.0, min(retrying) - time.monotonic()))
                continue
            done = self._finished(finished_texts, len(sending), top_up, watch)
            finished.extend(task.result() for task in done)
            for outcome in finished:
                sending.pop(outcome.text.message_id, None)

    def _chain(self, lease: ChunkLease) -> ChunkLease | None:
        """Lease the broadcast's next chunk that no job has taken yet, under this job's
        token. The chunk's own job is called off (on_chained); if it runs anyway, it
        finds the chunk taken and does nothing.

        Unpaced, a chunk takes a fraction of a second, and every job costs about 20 ms
        with nothing in flight (the queue between jobs, the lease, the first claim, the
        last record) besides its pipeline draining and filling again. Going on to the
        next chunk while the last texts are with the provider keeps the pipeline full;
        chain_seconds bounds the job, so the worker still goes back to its queues about
        once a second."""
        try:
            with self.database.session() as session:
                chained = chunks.take_next_chunk(session, lease.broadcast_id, lease.token, utcnow())
        except SQLAlchemyError as exc:  # the chunk's own job will take it
            log.warning("broadcast %s: no chunk chained: %s", lease.broadcast_id, exc)
            return None
        if chained is not None and self._on_chained is not None:
            self._on_chained(chained)
        return chained

    def _finish_done(
        self, held: list[Held], sending: dict[int, Claimed], finished: list[Outcome], watch: Watch
    ) -> None:
        """Finish the chunks held before the last that have nothing left to send, record
        or retry: done as soon as they are, not when the job ends."""
        idle = [chunk for chunk in held[:-1] if chunk.drained and not chunk.not_before]
        if not idle:  # the usual round: nothing more to look at
            return
        busy = [*sending.values(), *(o.text for o in finished)]
        complete = [chunk for chunk in idle if not any(chunk.holds(text) for text in busy)]
        if not complete:
            return
        for chunk in complete:
            held.remove(chunk)
        # Out of the watch's renewals first: a renewal that fails for a finished chunk
        # is not a lost lease.
        watch.held = tuple(chunk.lease for chunk in held)
        try:
            with self.database.session() as session:
                for chunk in complete:
                    chunks.finish_chunk(session, chunk.lease, utcnow())
        except SQLAlchemyError as exc:
            # Left pending, with nothing queued: once the lease lapses, the clock's sweep
            # gives it to a job that finds nothing to send and finishes it.
            log.warning("broadcast chunks not finished: %s", exc)

    @contextmanager
    def _claiming(self) -> Iterator[Connection | None]:
        """On PostgreSQL, one connection in autocommit for the job's record-and-claim
        statements: checking one out of the pool for every group cost about 3% of a
        worker's CPU. (SQLite's statements cross no network: its transaction costs
        nothing more, and it takes none.)"""
        if self.database.is_sqlite:
            yield None
            return
        with self.database.autocommit() as connection:
            yield connection

    def _record_and_claim(
        self,
        connection: Connection | None,
        late_after: datetime,
        finished: list[Outcome],
        lease: ChunkLease,
        room: int,
        waiting: list[int],
    ) -> tuple[list[tuple[int, float]], claims.ClaimedBatch | None]:
        """Record what finished and claim up to `room` texts that go next, together.
        Returns the texts to retry, with their backoff, and the batch claimed (None when
        `room` is 0)."""
        if connection is not None and all(o.provider_sid for o in finished):
            # The usual group, all sent: one statement, one round trip.
            sent = {o.text.message_id: o.provider_sid for o in finished if o.provider_sid}
            batch, called_back = claims.record_and_claim(
                connection, self.vault, sent, lease, room, utcnow(), waiting
            )
            if called_back:
                with self.database.session() as session:
                    claims.apply_early_callbacks(session, called_back, utcnow())
            return [], batch if room else None
        retries: list[tuple[int, float]] = []
        batch = None
        with self.database.session() as session:
            if finished:
                retries = claims.record_batch(session, finished, utcnow(), late_after)
            if room:
                # The texts just put back for a retry wait out their backoff like the
                # others: claimed again at once, a fault that turns every text away (Redis
                # down at the fence) would use up their attempts within milliseconds.
                waiting = waiting + [message_id for message_id, _ in retries]
                batch = claims.claim_batch(session, self.vault, lease, room, utcnow(), waiting)
        return retries, batch

    def _admit(
        self, claimed: list[Claimed], leaving: list[str], entered: dict[int, str]
    ) -> tuple[list[Claimed], list[Outcome]]:
        """Through the opt-out fence in one round trip: the texts just recorded leave it,
        the texts just claimed enter. Returns the texts that may go, and outcomes for
        those that may not: sealed by a STOP, or not tried because Redis is down.

        A text counts as in flight from its claim until its outcome is recorded, a
        little longer than its provider call: a STOP confirmed meanwhile waits for it
        or turns it away, and a text never goes out after the confirmation.
        """
        if self._fence is None:
            return claimed, []
        hashes = [self.vault.lookup_hash(text.to) for text in claimed]
        try:
            admitted = self._fence.exchange(leaving, hashes)
        except Exception as error:  # noqa: BLE001 - Redis down: nothing goes unchecked
            if leaving:
                # Their in-flight counts lapse on their own (IN_FLIGHT_FOR).
                log.warning("opt-out fence: %d leaves lost: %r", len(leaving), error)
            unavailable = FenceUnavailable(
                f"opt-out fence: {error!r}", retryable=True, retry_after=self._outage.wait()
            )
            return [], [Outcome(text, error=unavailable) for text in claimed]
        self._outage.over()
        may_go: list[Claimed] = []
        turned_away: list[Outcome] = []
        for text, phone_hash, ok in zip(claimed, hashes, admitted, strict=True):
            if ok:
                entered[text.message_id] = phone_hash
                may_go.append(text)
            else:
                turned_away.append(Outcome(text, skipped="opted out"))
        return may_go, turned_away

    async def _start(
        self,
        texts: list[tuple[Claimed, str]],
        validity: int,
        watch: Watch,
        finished: Finished,
        backlog: Backlog,
    ) -> None:
        """On the loop: a task per text, each put on `finished` when it is done."""
        for text, body in texts:
            task = asyncio.ensure_future(self._send_one(text, body, validity, watch, backlog))
            self._tasks.add(task)  # the loop keeps only a weak reference to a task
            task.add_done_callback(self._tasks.discard)
            task.add_done_callback(finished.put)

    @staticmethod
    def _finished(
        finished: Finished, sending: int, enough: int, watch: Watch
    ) -> list[asyncio.Task[Outcome]]:
        """Texts done, gathered into a batch: `enough` of them, or all there are, or
        whatever GATHER_SECONDS after the first brought (one transaction records them).
        Nothing, at once, if the loop asked for a claim first (a paced backlog ran low)."""
        try:
            first = finished.get(timeout=1.0)
        except queue.Empty:
            return []
        if first is None:
            return []
        done = [first]
        until = time.monotonic() + GATHER_SECONDS
        while len(done) < min(enough, sending) and not watch.stopped:
            remaining = until - time.monotonic()
            if remaining <= 0:
                break
            try:
                task = finished.get(timeout=remaining)
            except queue.Empty:
                break
            if task is not None:
                done.append(task)
        while True:
            try:
                task = finished.get_nowait()
            except queue.Empty:
                return done
            if task is not None:
                done.append(task)

    async def _send_one(
        self, text: Claimed, body: str, validity: int, watch: Watch, backlog: Backlog
    ) -> Outcome:
        async with self._slots:
            outcome = await self._send_paced(text, body, validity, watch, backlog)
        if outcome.skipped:  # it never reached the provider: it leaves the backlog now
            backlog.leave()
        return outcome

    async def _send_paced(
        self, text: Claimed, body: str, validity: int, watch: Watch, backlog: Backlog
    ) -> Outcome:
        if watch.released:
            return Outcome(text, skipped="released")
        if watch.aborted.is_set():
            return Outcome(text, skipped="aborted")
        if (delay := self._spacing.reserve()) > 0:
            await asyncio.sleep(delay)
        return await self._take_turn(text, body, validity, watch, backlog)

    async def _take_turn(
        self, text: Claimed, body: str, validity: int, watch: Watch, backlog: Backlog
    ) -> Outcome:
        while True:
            wait = self._try_acquire()
            if wait is None:
                # Never tried: back to the queue with a backoff, like a 5xx, until Redis
                # is back (the fence turns away new texts meanwhile).
                backlog.leave()
                unavailable = PacerUnavailable(
                    "rate limiter unavailable", retryable=True, retry_after=self._outage.wait()
                )
                return Outcome(text, error=unavailable)
            if wait <= 0:
                break
            if watch.stopped:
                return Outcome(text, skipped="released" if watch.released else "aborted")
            await asyncio.sleep(min(wait, PACER_POLL))
            # Every attempt is spaced, not only the first: texts refused together would
            # otherwise come back together and take the freed slots in one burst.
            await asyncio.sleep(self._spacing.reserve())
        # Re-checked after the wait for a token: STOP and ABORT win over a token in hand.
        if watch.aborted.is_set():
            return Outcome(text, skipped="aborted")
        if text.subscriber_id in watch.opted_out:
            return Outcome(text, skipped="opted out")
        backlog.leave()
        return await self._hand_over(text, body, validity)

    async def _hand_over(self, text: Claimed, body: str, validity: int) -> Outcome:
        try:
            provider_sid = await self._provider.send(text.to, body, validity)
        except SendError as error:
            return Outcome(text, error=error)
        return Outcome(text, provider_sid=provider_sid)

    def _try_acquire(self) -> float | None:
        """0 when a token was taken, else seconds to wait (one Redis call, no blocking);
        None when the limiter could not be asked (Redis down).

        A grant whose answer took long to come back (a stalled process) is left
        unused: sent late, its text could land in the next window with that
        window's own texts. Unused, it only costs a slot.
        """
        try_acquire = getattr(self.pacer, "try_acquire", None)
        asked = time.monotonic()
        try:
            if try_acquire is None:
                return 0.0 if self.pacer.acquire(timeout=0) else PACER_POLL
            wait = float(try_acquire())
        except Exception as error:  # noqa: BLE001 - Redis down: no text goes unpaced
            log.warning("rate limiter: %r", error)
            return None
        self._outage.over()
        if wait == 0.0 and time.monotonic() - asked > STALE_GRANT:
            return 0.001
        return wait


# Texts done, for the job's thread to record; None asks it to claim more.
Finished = queue.SimpleQueue[asyncio.Task[Outcome] | None]


class Backlog:
    """Texts given to the loop and not yet handed to the provider. Counted from two
    threads, each with its own counter (the job's thread adds, the loop takes away),
    so no lock is needed. When `wake` is given, the loop calls it as the backlog falls
    to `wake_at`: a paced sender then claims more without waiting for texts to finish,
    which with a slow provider could take seconds."""

    def __init__(self, wake: Callable[[], None] | None = None, wake_at: int = 0) -> None:
        self.given = 0
        self.gone = 0
        self._wake = wake
        self._wake_at = wake_at

    def __len__(self) -> int:
        return self.given - self.gone

    def leave(self) -> None:
        self.gone += 1
        if self._wake is not None and len(self) == self._wake_at:
            self._wake()


@dataclass
class Held:
    """A chunk a job holds, and where its claims stand."""

    lease: ChunkLease
    not_before: dict[int, float] = field(default_factory=dict)  # message id -> retry time
    drained: bool = False  # its last claim found nothing more that may go now

    def holds(self, text: Claimed) -> bool:
        return self.lease.after_id < text.subscriber_id <= self.lease.through_id

    def retry_due(self, now: float) -> bool:
        return any(at <= now for at in self.not_before.values())

    def waiting(self, now: float) -> list[int]:
        """Its texts still in their backoff, which a claim must pass over."""
        return [message_id for message_id, at in self.not_before.items() if at > now]


def _holder(held: list[Held], text: Claimed) -> Held:
    return next(chunk for chunk in held if chunk.holds(text))


class Outage:
    """How long texts turned away untried (Redis down) wait before their next try:
    OUTAGE_FIRST_WAIT, doubling at each turn while Redis stays down, up to
    OUTAGE_LONGEST_WAIT; back to the first once Redis answers. Their attempts are
    given back, so the wait must grow: texts would otherwise be claimed and turned
    away four times a second for as long as the outage lasts. The texts turned away
    within one wait share it, so it doubles once a turn, not once a text."""

    def __init__(self) -> None:
        self.over()

    def wait(self) -> float:
        now = time.monotonic()
        if now >= self._until:  # the last wait is over: a new turn
            self._current = self._next
            self._next = min(OUTAGE_LONGEST_WAIT, self._current * 2)
            self._until = now + self._current
        return self._current

    def over(self) -> None:
        self._next = OUTAGE_FIRST_WAIT
        self._current = OUTAGE_FIRST_WAIT
        self._until = 0.0


class Spacing:
    """At most one token request per `interval` from this process.

    The shared limiter grants a whole window's worth at once when its window is
    empty, and would keep that burst shape forever (each slot frees one window
    after it was granted). A burst makes the sender and the provider queue up, so
    texts granted together reach the provider spread out, and the spread differs
    from one window to the next: seen from the carrier, one second then holds
    more than the rate. Spacing each process's requests at the rate keeps the
    grants, and so the sends, evenly spread.
    """

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._next = 0.0

    def reserve(self) -> float:
        """Seconds to wait before asking for a token."""
        if self.interval <= 0:
            return 0.0
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        return start - now


@dataclass
class ChunkReport:
    chunk_id: int
    sent: int = 0
    failed: int = 0
    retried: int = 0
    skipped: int = 0
    unknown: int = 0
    done: bool = False
    chained: list[int] = field(default_factory=list)  # chunks taken after the first

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
    # A non-urgent broadcast's quiet hours: the watch pauses it when they begin. (The
    # clock's sweep does too, but on a worker busy with chunk jobs it may run late.)
    quiet_hours: QuietHours | None = None
    inflight: frozenset[int] = frozenset()
    # Every lease the job holds, renewed together; replaced whole by the job's thread.
    held: tuple[ChunkLease, ...] = ()
    opted_out: set[int] = field(default_factory=set)
    aborted: threading.Event = field(default_factory=threading.Event)
    lost: threading.Event = field(default_factory=threading.Event)
    paused: threading.Event = field(default_factory=threading.Event)  # quiet hours began
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, name="bcast-watch", daemon=True)
        self._renewed = time.monotonic()
        if not self.held:
            self.held = (self.lease,)

    @property
    def stopped(self) -> bool:
        return self.aborted.is_set() or self.released

    @property
    def released(self) -> bool:
        """Texts not yet handed over go back to the queue, for this chunk's next job."""
        return self.lost.is_set() or self.paused.is_set()

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
        if self.quiet_hours is not None and is_quiet(now, *self.quiet_hours):
            with self.database.session() as session:
                pause_sending(session, *self.quiet_hours, now, broadcast_id=self.lease.broadcast_id)
        with self.database.reading() as connection:
            state = connection.scalar(
                select(Broadcast.state).where(Broadcast.id == self.lease.broadcast_id)
            )
            if state == "scheduled":
                self.paused.set()
                self.stopping.set()
            elif state != "sending":
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
            held = self.held
            with self.database.engine.begin() as connection:
                lost = [lease for lease in held if not chunks.renew_chunk(connection, lease, now)]
            # A chunk finished meanwhile is no longer held, and not lost.
            for lease in set(lost) & set(self.held):
                log.warning("chunk %s: lease lost to another job", lease.chunk_id)
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
        broadcast = planning.start_if_due(session, broadcast_id, utcnow())
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
            step = planning.plan_batch(session, broadcast_id, token, utcnow())
        if step is None:
            break
        if step.chunk_ids:
            on_chunks(step.chunk_ids)
        if step.done:
            with database.session() as session:
                chunks.finish_broadcast(session, broadcast_id, utcnow())
            break
    return "sending"
