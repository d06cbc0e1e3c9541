"""The fan-out engine in one process: planning, chunk leases, batch claim/record, the sender
against the real twilio-python client and the local Twilio server."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import replace
from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
import redis
from rq.exceptions import NoSuchJobError
from sqlalchemy import func, select, update

from service.database import Database
from service.domain import delivery
from service.domain.broadcasts import chunks, claims, control, planning, preview, quiet_hours
from service.domain.broadcasts import sender as sender_module
from service.domain.broadcasts.sender import (
    MIN_AHEAD,
    RENEW_EVERY,
    Sender,
    Watch,
    advance,
    most_unrecorded,
    paced_ahead,
)
from service.domain.sending import Unpaced
from service.gateway.twilio_async import build_async_gateway
from service.models import OutboundMessage, Subscriber, utcnow
from service.models.broadcasts import Broadcast, BroadcastChunk
from service.optout_fence import OptOutFence
from workers.pacing import RateLimiter


@pytest.fixture
def small_batches(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(planning, "PLAN_BATCH", 7)
    monkeypatch.setattr(planning, "CHUNK_SIZE", 3)


def confirmed(runtime, organizer, body="Rally at noon", **kwargs) -> int:  # type: ignore[no-untyped-def]
    with runtime.database.session() as session:
        person = session.merge(organizer)
        result = preview.create(
            session, runtime.vault, runtime.config, person, "bcast", body, utcnow(), **kwargs
        )
        preview.schedule(session, result.broadcast, runtime.config, utcnow())
        return result.broadcast.id


def plan(runtime, broadcast_id) -> list[int]:  # type: ignore[no-untyped-def]
    chunk_ids: list[int] = []
    state = advance(runtime.database, broadcast_id, chunk_ids.extend, lambda at: None)
    assert state == "sending"
    return chunk_ids


def ledger(runtime, broadcast_id):  # type: ignore[no-untyped-def]
    with runtime.database.session() as session:
        return session.scalars(
            select(OutboundMessage).where(OutboundMessage.broadcast_id == broadcast_id)
        ).all()


def make_sender(twilio_config, runtime, **options) -> Sender:  # type: ignore[no-untyped-def]
    return Sender(
        runtime.database,
        runtime.vault,
        Unpaced(),
        lambda: build_async_gateway(twilio_config),
        in_flight=4,
        **options,
    )


@pytest.fixture
def sender(twilio_config, runtime):  # type: ignore[no-untyped-def]
    made = make_sender(twilio_config, runtime)
    yield made
    made.close()


def test_planning_writes_one_row_per_recipient_in_chunks(runtime, organizer, seed, small_batches):
    seed(20)
    with runtime.database.session() as session:
        session.execute(update(Subscriber).where(Subscriber.id % 5 == 0).values(status="opted_out"))
    broadcast_id = confirmed(runtime, organizer)
    chunk_ids = plan(runtime, broadcast_id)
    rows = ledger(runtime, broadcast_id)
    assert len(rows) == 16 and len({r.subscriber_id for r in rows}) == 16
    assert all(r.status == "queued" and r.purpose == "broadcast" for r in rows)
    with runtime.database.session() as session:
        chunks = session.scalars(select(BroadcastChunk).order_by(BroadcastChunk.after_id)).all()
        assert [c.id for c in chunks] == sorted(chunk_ids)
        # Contiguous, non-overlapping ranges covering every planned subscriber.
        assert all(a.through_id == b.after_id for a, b in zip(chunks, chunks[1:], strict=False))
        assert chunks[0].after_id == 0 and chunks[-1].through_id == max(
            r.subscriber_id for r in rows
        )
        broadcast = session.get(Broadcast, broadcast_id)
        assert broadcast.planning_done and broadcast.lease_token is None
    # Planning again (a retried job) adds nothing.
    assert advance(runtime.database, broadcast_id, lambda ids: None, lambda at: None) == "sending"
    assert len(ledger(runtime, broadcast_id)) == 16


def test_planning_resumes_from_its_cursor_and_never_duplicates(
    runtime, organizer, seed, small_batches
):
    seed(10)
    broadcast_id = confirmed(runtime, organizer)
    now = utcnow()
    with runtime.database.session() as session:
        planning.start_if_due(session, broadcast_id, now)
    with runtime.database.session() as session:
        assert planning.plan_batch(session, broadcast_id, "dead-worker", now).chunk_ids
    # The planner died: another cannot plan while the lease holds, and can after it lapses.
    with runtime.database.session() as session:
        assert planning.plan_batch(session, broadcast_id, "other", now) is None
    later = now + planning.PLANNING_LEASE + timedelta(seconds=1)
    with runtime.database.session() as session:
        step = planning.plan_batch(session, broadcast_id, "other", later)
        assert step is not None and step.done
    rows = ledger(runtime, broadcast_id)
    assert len(rows) == 10 and len({r.subscriber_id for r in rows}) == 10


def test_sender_delivers_each_text_once_with_validity_and_language(
    runtime, organizer, seed, sender, fake_twilio
):
    english = seed(5)
    spanish = seed(3, language="es", start=50)
    broadcast_id = confirmed(
        runtime, organizer, body="Rally at noon", translations={"es": "Marcha al mediodía"}
    )
    for chunk_id in plan(runtime, broadcast_id):
        report = sender.run_chunk(chunk_id)
        assert report is not None and report.done
    sent = fake_twilio.messages()
    assert Counter(m["to"] for m in sent) == Counter(english + spanish)
    bodies = {m["to"]: m["body"] for m in sent}
    assert {bodies[n] for n in english} == {"Rally at noon"}
    assert {bodies[n] for n in spanish} == {"Marcha al mediodía"}
    assert {str(m["validity_period"]) for m in sent} == {"14400"}
    assert {r.status for r in ledger(runtime, broadcast_id)} <= {"sent", "delivered"}
    with runtime.database.session() as session:
        assert session.get(Broadcast, broadcast_id).state == "done"
    # A chunk job run again sends nothing more.
    assert sender.run_chunk(plan_chunks(runtime)[0]) is None
    assert len(fake_twilio.messages()) == 8


def plan_chunks(runtime) -> list[int]:  # type: ignore[no-untyped-def]
    with runtime.database.session() as session:
        return list(session.scalars(select(BroadcastChunk.id)))


def chunk_states(runtime) -> dict[int, tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    with runtime.database.session() as session:
        rows = session.execute(
            select(BroadcastChunk.id, BroadcastChunk.state, BroadcastChunk.lease_token)
        )
        return {chunk_id: (state, token) for chunk_id, state, token in rows}


def test_a_chunk_job_goes_on_to_the_next_free_chunks_and_finishes_each(
    runtime, organizer, seed, twilio_config, fake_twilio, small_batches
):
    """A job that has claimed all of its chunk takes the broadcast's next one nobody holds
    (the pipeline stays full across the boundary). Retries of an earlier chunk's texts
    still go, each chunk is finished, and the chained chunks' own jobs find nothing."""
    phones = seed(20)
    fake_twilio.set_faults(every_nth_429=3, error_500_every_nth=7)
    broadcast_id = confirmed(runtime, organizer)
    first, *rest = plan(runtime, broadcast_id)
    assert len(rest) > 3
    chaining = make_sender(twilio_config, runtime, chain_seconds=60)
    try:
        report = chaining.run_chunk(first)
        assert report is not None and report.done
        assert report.chained == rest
        assert Counter(m["to"] for m in fake_twilio.messages()) == Counter(phones)
        assert fake_twilio.stats()["rejected_429"] > 0
        assert set(chunk_states(runtime).values()) == {("done", None)}
        assert {r.status for r in ledger(runtime, broadcast_id)} <= {"sent", "delivered"}
        with runtime.database.session() as session:
            assert session.get(Broadcast, broadcast_id).state == "done"
        assert [chaining.run_chunk(chunk_id) for chunk_id in rest] == [None] * len(rest)
    finally:
        chaining.close()
    assert len(fake_twilio.messages()) == 20


def test_a_chunk_job_chains_no_chunk_past_its_time_nor_one_another_job_holds(
    runtime, organizer, seed, twilio_config, fake_twilio, small_batches
):
    seed(9)
    broadcast_id = confirmed(runtime, organizer)
    first, second, third = plan(runtime, broadcast_id)
    with runtime.database.session() as session:
        assert chunks.take_chunk(session, second, "other job", utcnow()) is not None
    chaining = make_sender(twilio_config, runtime, chain_seconds=60)
    try:
        report = chaining.run_chunk(first)
        # The second is another job's: the third is the next free one.
        assert report is not None and report.chained == [third]
    finally:
        chaining.close()
    assert chunk_states(runtime)[second] == ("pending", "other job")
    seed(9, start=100)
    later = confirmed(runtime, organizer, body="And again")
    first, *rest = plan(runtime, later)
    hurried = make_sender(twilio_config, runtime, chain_seconds=1e-9)
    try:
        report = hurried.run_chunk(first)
        assert report is not None and report.done and report.chained == []
    finally:
        hurried.close()
    states = chunk_states(runtime)
    assert [states[chunk_id] for chunk_id in rest] == [("pending", None)] * len(rest)


def test_a_chained_chunks_own_job_is_called_off_and_the_clock_re_drives_it_if_the_chain_dies(
    runtime, organizer, seed, small_batches, monkeypatch
):
    from rq.job import Job

    import workers.broadcasts as jobs

    seed(9)
    broadcast_id = confirmed(runtime, organizer)
    first, second, third = plan(runtime, broadcast_id)
    jobs.enqueue_chunks(runtime, [first, second, third])
    queue = runtime.queues.broadcasts
    with runtime.database.session() as session:
        assert chunks.take_chunk(session, first, "job", utcnow()) is not None
        chained = chunks.take_next_chunk(session, broadcast_id, "job", utcnow())
        assert chained is not None and chained.chunk_id == second
    jobs.call_off(runtime, chained)
    assert queue.job_ids == [jobs.chunk_job_id(first, 0), jobs.chunk_job_id(third, 0)]
    with pytest.raises(NoSuchJobError):
        Job.fetch(jobs.chunk_job_id(second, 0), connection=runtime.redis)
    # A job a worker already has is left alone: it finds its chunk taken.
    queue.remove(jobs.chunk_job_id(third, 0))
    with runtime.database.session() as session:
        taken = chunks.take_next_chunk(session, broadcast_id, "job", utcnow())
        assert taken is not None and taken.chunk_id == third
        assert chunks.take_next_chunk(session, broadcast_id, "job", utcnow()) is None
    jobs.call_off(runtime, taken)
    assert Job.fetch(jobs.chunk_job_id(third, 0), connection=runtime.redis).id
    # The chaining job died: once its leases lapse, the clock re-enqueues the chunk whose
    # job was called off (the others still have theirs: waiting, or with a worker).
    monkeypatch.setattr(jobs, "current", lambda: runtime)
    lapsed = utcnow() + chunks.CHUNK_LEASE + timedelta(seconds=1)
    monkeypatch.setattr(jobs, "utcnow", lambda: lapsed)
    assert jobs.sweep_broadcasts()["chunks"] == 1
    assert jobs.chunk_job_id(second, 1) in queue.job_ids
    assert jobs.chunk_job_id(first, 1) not in queue.job_ids


def test_the_watch_renews_every_chunk_held_and_a_finished_one_is_not_lost(
    runtime, organizer, seed, small_batches
):
    seed(6)
    broadcast_id = confirmed(runtime, organizer)
    first, second = plan(runtime, broadcast_id)
    start = utcnow()
    with runtime.database.session() as session:
        a = chunks.take_chunk(session, first, "job", start)
        b = chunks.take_chunk(session, second, "job", start)
    watch = Watch(runtime.database, a, held=(a, b))
    later = start + timedelta(seconds=10)
    watch._renewed -= RENEW_EVERY
    watch.check(later)
    with runtime.database.session() as session:
        until = dict(session.execute(select(BroadcastChunk.id, BroadcastChunk.lease_until)).all())
    assert until[first] > start + chunks.CHUNK_LEASE and until[second] == until[first]
    # The job finished the first chunk (its texts all gone) while the watch renewed.
    with runtime.database.session() as session:
        session.execute(update(OutboundMessage).values(status="sent"))
        assert chunks.finish_chunk(session, a, later)
    watch.held = (b,)
    watch._renewed -= RENEW_EVERY
    watch.check(later)
    assert not watch.lost.is_set()
    # A renewal that fails for a chunk still held is a lost lease.
    watch.held = (a, b)
    watch._renewed -= RENEW_EVERY
    watch.check(later)
    assert watch.lost.is_set()


def test_opt_out_after_planning_is_skipped(runtime, organizer, seed, sender, fake_twilio):
    phones = seed(4)
    broadcast_id = confirmed(runtime, organizer)
    chunk_ids = plan(runtime, broadcast_id)
    with runtime.database.session() as session:
        session.execute(
            update(Subscriber)
            .where(Subscriber.phone_hash == runtime.vault.lookup_hash(phones[1]))
            .values(status="opted_out")
        )
    for chunk_id in chunk_ids:
        sender.run_chunk(chunk_id)
    assert sorted(m["to"] for m in fake_twilio.messages()) == sorted(phones[:1] + phones[2:])
    assert Counter(r.status for r in ledger(runtime, broadcast_id))["skipped"] == 1


def test_429_and_500_are_retried_until_each_gets_exactly_one(
    runtime, organizer, seed, sender, fake_twilio
):
    phones = seed(30)
    fake_twilio.set_faults(every_nth_429=3, error_500_every_nth=7)
    broadcast_id = confirmed(runtime, organizer)
    for chunk_id in plan(runtime, broadcast_id):
        sender.run_chunk(chunk_id)
    assert Counter(m["to"] for m in fake_twilio.messages()) == Counter(phones)
    stats = fake_twilio.stats()
    assert stats["rejected_429"] > 0 and stats["rejected_500"] > 0
    assert {r.status for r in ledger(runtime, broadcast_id)} <= {"sent", "delivered"}


def test_21610_opts_the_subscriber_out_and_other_errors_fail(
    runtime, organizer, seed, sender, fake_twilio
):
    phones = seed(3)
    fake_twilio.set_faults(errors_for_numbers={phones[0]: 21610, phones[1]: 21408})
    broadcast_id = confirmed(runtime, organizer)
    for chunk_id in plan(runtime, broadcast_id):
        sender.run_chunk(chunk_id)
    with runtime.database.session() as session:
        statuses = dict(session.execute(select(Subscriber.phone_hash, Subscriber.status)).all())
    assert statuses[runtime.vault.lookup_hash(phones[0])] == "opted_out"
    assert statuses[runtime.vault.lookup_hash(phones[1])] == "active"
    assert Counter(r.status for r in ledger(runtime, broadcast_id))["failed"] == 2
    assert [m["to"] for m in fake_twilio.messages()] == [phones[2]]


def test_a_text_whose_recipient_stops_while_it_waits_for_a_retry_ends_its_chunk(
    runtime, organizer, seed, sender, fake_twilio
):
    """A STOP landing while a text waits out a 429's backoff: the retry's claim finds the
    recipient gone and marks the text skipped, and the chunk's job ends. (It used to
    keep the text's retry time and claim again and again, never ending.)"""
    seed(1)
    fake_twilio.set_faults(every_nth_429=1)  # every send refused: the text keeps waiting
    broadcast_id = confirmed(runtime, organizer)
    [chunk_id] = plan(runtime, broadcast_id)
    job = threading.Thread(target=sender.run_chunk, args=(chunk_id,), daemon=True)
    job.start()
    fake_twilio.wait_until(fake_twilio.stats, lambda s: s["rejected_429"] >= 1, 10, "a 429")
    with runtime.database.session() as session:
        session.execute(update(Subscriber).values(status="opted_out"))
    job.join(timeout=10)
    ended = not job.is_alive()
    if not ended:  # stop it before failing: an aborted broadcast ends every job
        with runtime.database.session() as session:
            control.abort(session, utcnow())
        job.join(timeout=10)
    assert ended, "the chunk's job did not end"
    assert {r.status for r in ledger(runtime, broadcast_id)} == {"skipped"}
    assert fake_twilio.messages() == []


def test_a_paced_text_whose_rate_token_cannot_be_asked_for_goes_back_to_the_queue(
    runtime, organizer, seed, twilio_config, fake_twilio, redis_conn
):
    """Redis down while texts wait for a rate token: each goes back to the queue with a
    backoff, as after a 5xx, and goes once Redis is back. (The job used to fail, leaving
    its claimed texts to be reported unknown though they never went.)"""
    phones = seed(3)
    down = CountedLimiter(redis.Redis.from_url("redis://127.0.0.1:1/0"), 50)
    sender = Sender(
        runtime.database, runtime.vault, down, lambda: build_async_gateway(twilio_config)
    )
    broadcast_id = confirmed(runtime, organizer)
    [chunk_id] = plan(runtime, broadcast_id)
    job = threading.Thread(target=sender.run_chunk, args=(chunk_id,), daemon=True)
    try:
        job.start()
        fake_twilio.wait_until(
            lambda: down.asked, lambda asked: asked >= 6, 10, "texts asked again"
        )
        assert fake_twilio.messages() == []
        # Never tried: their attempts are given back.
        assert {r.attempts for r in ledger(runtime, broadcast_id)} <= {0, 1}
        sender.pacer = RateLimiter(redis_conn, 50)  # Redis is back
        job.join(timeout=20)
        assert not job.is_alive(), "the chunk's job did not end"
    finally:
        sender.close()
    assert Counter(m["to"] for m in fake_twilio.messages()) == Counter(phones)
    assert {r.status for r in ledger(runtime, broadcast_id)} <= {"sent", "delivered"}


class CountedLimiter(RateLimiter):
    asked = 0

    def try_acquire(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.asked += 1
        return super().try_acquire(*args, **kwargs)


class CountedFence(OptOutFence):
    asked = 0

    def exchange(self, leaving, entering):  # type: ignore[no-untyped-def]
        self.asked += 1
        return super().exchange(leaving, entering)


@pytest.fixture
def short_outage_waits(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sender_module, "OUTAGE_FIRST_WAIT", 0.005)
    monkeypatch.setattr(sender_module, "OUTAGE_LONGEST_WAIT", 0.02)


def test_texts_turned_away_while_redis_is_down_use_up_none_of_their_attempts(
    runtime, organizer, seed, twilio_config, fake_twilio, redis_conn, short_outage_waits
):
    """The opt-out fence cannot be asked: every text claimed is turned away untried, to be
    tried again after a wait that grows while Redis stays down. However long that is, no
    text uses up its attempts: each goes once Redis is back. (The texts used to count
    every turn as an attempt, and failed for good after about half a minute.)"""
    phones = seed(40)
    down = CountedFence(redis.Redis.from_url("redis://127.0.0.1:1/0"))
    sender = make_sender(twilio_config, runtime, fence=down)
    broadcast_id = confirmed(runtime, organizer)
    [chunk_id] = plan(runtime, broadcast_id)
    job = threading.Thread(target=sender.run_chunk, args=(chunk_id,), daemon=True)
    try:
        job.start()
        # Each turn claims the 40 texts in groups of 8: past MAX_ATTEMPTS turns each.
        turns = 5 * (claims.MAX_ATTEMPTS + 2)
        fake_twilio.wait_until(lambda: down.asked, lambda asked: asked >= turns, 20, "turns")
        rows = ledger(runtime, broadcast_id)
        assert {r.status for r in rows} <= {"queued", "claimed"}
        assert max(r.attempts for r in rows) <= 1
        assert job.is_alive()
        sender._fence = OptOutFence(redis_conn)  # Redis is back
        job.join(timeout=20)
        ended = not job.is_alive()
    finally:
        if job.is_alive():
            with runtime.database.session() as session:
                control.abort(session, utcnow())
            job.join(timeout=10)
        sender.close()
    assert ended, "the chunk's job did not end"
    assert Counter(m["to"] for m in fake_twilio.messages()) == Counter(phones)
    assert {r.status for r in ledger(runtime, broadcast_id)} <= {"sent", "delivered"}


def test_texts_turned_away_past_their_broadcasts_validity_fail_rather_than_go_late(
    runtime, organizer, seed, twilio_config, fake_twilio, short_outage_waits
):
    seed(3)
    down = OptOutFence(redis.Redis.from_url("redis://127.0.0.1:1/0"))
    sender = make_sender(twilio_config, runtime, fence=down)
    broadcast_id = confirmed(runtime, organizer)
    [chunk_id] = plan(runtime, broadcast_id)
    with runtime.database.session() as session:
        broadcast = session.get(Broadcast, broadcast_id)
        broadcast.send_at = utcnow() - timedelta(seconds=broadcast.validity_period + 60)
    try:
        report = sender.run_chunk(chunk_id)
    finally:
        sender.close()
    assert report is not None and report.done
    rows = ledger(runtime, broadcast_id)
    assert {r.status for r in rows} == {"failed"}
    assert {r.attempts for r in rows} == {claims.MAX_ATTEMPTS}
    assert fake_twilio.messages() == []


def claimed_by_hand(runtime, organizer, count: int):  # type: ignore[no-untyped-def]
    """A broadcast planned into one chunk, leased and `count` of its texts claimed, the way
    a sender job starts: (broadcast id, chunk id, the claimed texts)."""
    broadcast_id = confirmed(runtime, organizer)
    [chunk_id] = plan(runtime, broadcast_id)
    now = utcnow()
    with runtime.database.session() as session:
        lease = chunks.take_chunk(session, chunk_id, "by hand", now)
    with runtime.database.session() as session:
        claimed = claims.claim_batch(session, runtime.vault, lease, count, now).ready
    return broadcast_id, chunk_id, claimed


def test_a_dead_workers_claims_become_unknown_and_the_rest_is_sent(
    runtime, organizer, seed, sender, fake_twilio, small_batches
):
    phones = seed(3)
    broadcast_id, chunk_id, claimed = claimed_by_hand(runtime, organizer, 1)
    assert len(claimed) == 1  # ... and the worker is killed before the provider answers
    now = utcnow()
    with runtime.database.session() as session:
        session.execute(update(BroadcastChunk).values(lease_until=now - timedelta(seconds=1)))
    report = sender.run_chunk(chunk_id)
    assert report.unknown == 1 and report.sent == 2 and report.done
    assert sorted(m["to"] for m in fake_twilio.messages()) == sorted(phones[1:])
    with runtime.database.session() as session:
        summary = control.report(session, broadcast_id)
    assert summary.count("unknown") == 1 and summary.broadcast.state == "done"


def test_a_live_chunk_lease_keeps_a_second_job_out(runtime, organizer, seed, sender):
    seed(2)
    broadcast_id = confirmed(runtime, organizer)
    [chunk_id] = plan(runtime, broadcast_id)
    with runtime.database.session() as session:
        assert chunks.take_chunk(session, chunk_id, "alive", utcnow())
    assert sender.run_chunk(chunk_id) is None


def test_abort_skips_what_is_queued_and_sends_nothing_more(
    runtime, organizer, seed, sender, fake_twilio
):
    seed(6)
    broadcast_id = confirmed(runtime, organizer)
    chunk_ids = plan(runtime, broadcast_id)
    with runtime.database.session() as session:
        result = control.abort(session, utcnow())
    assert result.broadcast.id == broadcast_id and result.count("skipped") == 6
    for chunk_id in chunk_ids:
        sender.run_chunk(chunk_id)
    assert fake_twilio.messages() == []
    with runtime.database.session() as session:
        assert session.scalar(
            select(func.count()).select_from(BroadcastChunk).where(BroadcastChunk.state == "done")
        ) == len(chunk_ids)


def test_the_sweep_finds_due_broadcasts_and_lapsed_chunks(runtime, organizer, seed):
    seed(2)
    broadcast_id = confirmed(runtime, organizer)
    now = utcnow()
    with runtime.database.session() as session:
        assert chunks.stalled(session, now).broadcasts == [broadcast_id]
    chunk_ids = plan(runtime, broadcast_id)
    with runtime.database.session() as session:
        stalled = chunks.stalled(session, now)
        assert stalled.broadcasts == [] and stalled.chunks == []
        later = now + chunks.UNLEASED_GRACE + timedelta(seconds=1)
        assert [c for c, _, _ in chunks.stalled(session, later).chunks] == chunk_ids
        assert chunks.bump_attempt(session, chunk_ids[0], 0)
        assert not chunks.bump_attempt(session, chunk_ids[0], 0)


def test_a_scheduled_broadcast_waits_for_its_time(runtime, organizer, seed):
    seed(1)
    later = utcnow() + timedelta(hours=1)
    broadcast_id = confirmed(runtime, organizer, requested_at=later)
    asked: list = []
    assert advance(runtime.database, broadcast_id, lambda ids: None, asked.append) == "scheduled"
    assert asked == [later]
    with runtime.database.session() as session:
        assert chunks.stalled(session, utcnow()).broadcasts == []
        assert chunks.stalled(session, later).broadcasts == [broadcast_id]


def test_a_group_is_recorded_sent_with_each_sid_and_early_callbacks_applied(
    runtime, organizer, seed, small_batches
):
    seed(3)
    broadcast_id, _, claimed = claimed_by_hand(runtime, organizer, 3)
    now = utcnow()
    sids = {text.message_id: f"SM{text.message_id:032x}" for text in claimed}
    first = claimed[0].message_id
    # The provider was quick: its callback for the first text beat the group's record.
    with runtime.database.session() as session:
        assert delivery.record(session, sids[first], "delivered", None, now)
    with runtime.database.session() as session:
        outcomes = [claims.Outcome(text, provider_sid=sids[text.message_id]) for text in claimed]
        assert claims.record_batch(session, outcomes, utcnow()) == []
    rows = {m.id: m for m in ledger(runtime, broadcast_id)}
    assert {mid: rows[mid].provider_sid for mid in sids} == sids
    assert rows[first].status == "delivered"
    assert {rows[mid].status for mid in sids if mid != first} == {"sent"}


def test_one_statement_records_a_group_sent_and_claims_the_next_on_postgresql(
    runtime, organizer, seed
):
    if runtime.database.is_sqlite:
        pytest.skip("record_and_claim is PostgreSQL's")
    phones = seed(5)
    broadcast_id = confirmed(runtime, organizer)
    [chunk_id] = plan(runtime, broadcast_id)
    with runtime.database.session() as session:
        lease = chunks.take_chunk(session, chunk_id, "by hand", utcnow())
    with runtime.database.session() as session:
        claimed = claims.claim_batch(session, runtime.vault, lease, 2, utcnow()).ready
    sids = {text.message_id: f"SM{text.message_id:032x}" for text in claimed}
    first = claimed[0].message_id
    # The provider's callback for the first text beats the record; a recipient not yet
    # claimed texts STOP.
    with runtime.database.session() as session:
        assert delivery.record(session, sids[first], "delivered", None, utcnow())
        session.execute(
            update(Subscriber)
            .where(Subscriber.phone_hash == runtime.vault.lookup_hash(phones[3]))
            .values(status="opted_out")
        )
    with runtime.database.autocommit() as connection:
        batch, called_back = claims.record_and_claim(
            connection, runtime.vault, sids, lease, 3, utcnow()
        )
    assert called_back == [sids[first]]
    assert sorted(text.to for text in batch.ready) == sorted([phones[2], phones[4]])
    assert batch.skipped == 1
    rows = {m.id: m for m in ledger(runtime, broadcast_id)}
    assert {mid: (rows[mid].status, rows[mid].provider_sid) for mid in sids} == {
        mid: ("sent", sid) for mid, sid in sids.items()
    }
    assert Counter(m.status for m in rows.values()) == {"sent": 2, "claimed": 2, "skipped": 1}
    with runtime.database.session() as session:
        claims.apply_early_callbacks(session, called_back, utcnow())
    assert ledger_status(runtime, first) == "delivered"


def test_warming_up_writes_nothing_and_survives_a_database_that_is_down(
    twilio_config, runtime, organizer, seed, sender, caplog
):
    seed(3)
    broadcast_id = confirmed(runtime, organizer)
    [chunk_id] = plan(runtime, broadcast_id)

    def state():  # type: ignore[no-untyped-def]
        with runtime.database.session() as session:
            return (
                session.execute(select(Broadcast.state, Broadcast.planned_through)).all(),
                session.execute(select(BroadcastChunk.state, BroadcastChunk.lease_token)).all(),
                sorted(session.execute(select(OutboundMessage.id, OutboundMessage.status)).all()),
            )

    before = state()
    sender.warm_up()
    assert state() == before
    report = sender.run_chunk(chunk_id)
    assert report is not None and report.sent == 3

    down = Sender(
        Database("postgresql://rallyline@127.0.0.1:1/none"),
        runtime.vault,
        Unpaced(),
        lambda: build_async_gateway(twilio_config),
    )
    try:
        down.warm_up()
    finally:
        down.close()
    assert "warm-up skipped" in caplog.text


def test_one_statement_leaves_texts_waiting_to_be_retried_queued(runtime, organizer, seed):
    if runtime.database.is_sqlite:
        pytest.skip("record_and_claim is PostgreSQL's")
    seed(6)
    broadcast_id = confirmed(runtime, organizer)
    [chunk_id] = plan(runtime, broadcast_id)
    with runtime.database.session() as session:
        lease = chunks.take_chunk(session, chunk_id, "by hand", utcnow())
    with runtime.database.autocommit() as connection:
        first, _ = claims.record_and_claim(connection, runtime.vault, {}, lease, 2, utcnow())
    # Both were refused with a 429 and wait out their backoff, queued again.
    waiting = [text.message_id for text in first.ready]
    with runtime.database.session() as session:
        session.execute(
            update(OutboundMessage).where(OutboundMessage.id.in_(waiting)).values(status="queued")
        )
    with runtime.database.autocommit() as connection:
        second, _ = claims.record_and_claim(
            connection, runtime.vault, {}, lease, 6, utcnow(), waiting
        )
    assert len(second.ready) == 4
    assert not {text.message_id for text in second.ready} & set(waiting)
    assert {ledger_status(runtime, message_id) for message_id in waiting} == {"queued"}


def ledger_status(runtime, message_id: int) -> str:  # type: ignore[no-untyped-def]
    with runtime.database.session() as session:
        return session.get(OutboundMessage, message_id).status


def test_a_number_sealed_by_a_stop_is_turned_away_at_the_fence(
    twilio_config, runtime, organizer, seed, fake_twilio, small_batches
):
    phones = seed(3)
    broadcast_id = confirmed(runtime, organizer)
    [chunk_id] = plan(runtime, broadcast_id)
    # The STOP was confirmed after the texts were planned and before they were claimed.
    sealed = runtime.vault.lookup_hash(phones[1])
    runtime.fence.seal(sealed, wait=0.1)
    fenced = make_sender(twilio_config, runtime, fence=runtime.fence)
    try:
        report = fenced.run_chunk(chunk_id)
    finally:
        fenced.close()
    assert report is not None and report.sent == 2 and report.skipped == 1 and report.done
    assert sorted(m["to"] for m in fake_twilio.messages()) == sorted([phones[0], phones[2]])
    # Every text that entered the fence left it: a later STOP is confirmed at once.
    for phone in (phones[0], phones[2]):
        assert runtime.fence.seal(runtime.vault.lookup_hash(phone), wait=0.0)


def test_quiet_hours_pause_a_broadcast_in_flight_until_they_end(
    runtime, organizer, seed, sender, fake_twilio, small_batches
):
    phones = seed(7)
    broadcast_id = confirmed(runtime, organizer)
    urgent_id = confirmed(runtime, organizer, "Police at the north gate", urgent=True)
    [first, *rest] = plan(runtime, broadcast_id)
    plan(runtime, urgent_id)
    sender.run_chunk(first)
    assert len(fake_twilio.messages()) == 3
    # Quiet hours begin (21:00-08:00 in New York; 03:00 UTC is 22:00 or 23:00 there).
    span, zone = (time(21, 0), time(8, 0)), ZoneInfo("America/New_York")
    # Tomorrow's, so that the end of the span is still ahead of the real clock below.
    night = (utcnow() + timedelta(days=1)).replace(hour=3, minute=0, second=0, microsecond=0)
    eight_in_new_york = (night + timedelta(hours=10)).astimezone(zone).replace(hour=8, minute=0)
    with runtime.database.session() as session:
        morning = night + timedelta(hours=12)  # 10:00 in New York
        assert quiet_hours.pause_sending(session, span, zone, morning) == []
        assert quiet_hours.pause_sending(session, span, zone, night) == [broadcast_id]
    with runtime.database.session() as session:
        paused = session.get(Broadcast, broadcast_id)
        assert paused.state == "scheduled"
        assert paused.send_at == eight_in_new_york
        assert session.get(Broadcast, urgent_id).state == "sending"
        # Its chunks wait for it, however long their leases have lapsed.
        later = utcnow() + chunks.UNLEASED_GRACE + timedelta(minutes=5)
        stalled = chunks.stalled(session, later)
        assert {b for _, b, _ in stalled.chunks} == {urgent_id}
        assert stalled.broadcasts == []
        assert chunks.stalled(session, paused.send_at).broadcasts == [broadcast_id]
    # A chunk job that runs meanwhile sends nothing and leaves its texts queued.
    sender.run_chunk(rest[0])
    assert len(fake_twilio.messages()) == 3
    assert Counter(r.status for r in ledger(runtime, broadcast_id))["queued"] == 4
    # The span ends: the clock starts it again, and re-enqueues its chunks once their
    # leases lapse. The rest go out, each once.
    with runtime.database.session() as session:
        session.get(Broadcast, broadcast_id).send_at = utcnow()
        session.execute(update(BroadcastChunk).values(lease_until=utcnow()))
    plan(runtime, broadcast_id)
    for chunk_id in rest:
        sender.run_chunk(chunk_id)
    assert Counter(m["to"] for m in fake_twilio.messages()) == Counter(phones)
    with runtime.database.session() as session:
        assert session.get(Broadcast, broadcast_id).state == "done"


def test_the_watch_releases_texts_in_flight_when_quiet_hours_pause_the_broadcast(
    runtime, organizer, seed
):
    seed(2)
    broadcast_id = confirmed(runtime, organizer)
    [chunk_id] = plan(runtime, broadcast_id)
    with runtime.database.session() as session:
        lease = chunks.take_chunk(session, chunk_id, "job", utcnow())
        session.get(Broadcast, broadcast_id).state = "scheduled"
    watch = Watch(runtime.database, lease)
    watch.check(utcnow())
    assert watch.paused.is_set() and watch.stopped and watch.released
    assert not watch.aborted.is_set()


def test_the_clock_sweep_pauses_a_non_urgent_broadcast_in_quiet_hours(
    runtime, organizer, seed, monkeypatch
):
    import workers.broadcasts

    seed(2)
    broadcast_id = confirmed(runtime, organizer)
    plan(runtime, broadcast_id)
    local = utcnow().astimezone(runtime.config.timezone)
    span = ((local - timedelta(hours=1)).time(), (local + timedelta(hours=1)).time())
    runtime.config = replace(runtime.config, quiet_hours=span)
    monkeypatch.setattr(workers.broadcasts, "current", lambda: runtime)
    assert workers.broadcasts.sweep_broadcasts()["paused"] == 1
    with runtime.database.session() as session:
        assert session.get(Broadcast, broadcast_id).state == "scheduled"


def test_the_watch_pauses_its_own_broadcast_when_quiet_hours_begin(runtime, organizer, seed):
    # The clock's sweep may wait behind chunk jobs on a busy worker: the watch does not.
    seed(2)
    broadcast_id = confirmed(runtime, organizer)
    [chunk_id] = plan(runtime, broadcast_id)
    with runtime.database.session() as session:
        lease = chunks.take_chunk(session, chunk_id, "job", utcnow())
    zone = runtime.config.timezone
    local = utcnow().astimezone(zone)
    outside = ((local + timedelta(hours=1)).time(), (local + timedelta(hours=2)).time())
    Watch(runtime.database, lease, quiet_hours=(outside, zone)).check(utcnow())
    with runtime.database.session() as session:
        assert session.get(Broadcast, broadcast_id).state == "sending"
    inside = ((local - timedelta(hours=1)).time(), (local + timedelta(hours=1)).time())
    watch = Watch(runtime.database, lease, quiet_hours=(inside, zone))
    watch.check(utcnow())
    assert watch.paused.is_set() and watch.released
    with runtime.database.session() as session:
        assert session.get(Broadcast, broadcast_id).state == "scheduled"


def test_texts_waiting_in_a_chunk_go_back_to_the_queue_when_it_pauses(
    runtime, organizer, seed, sender, fake_twilio
):
    phones = seed(24)
    broadcast_id = confirmed(runtime, organizer)
    [chunk_id] = plan(runtime, broadcast_id)
    fake_twilio.set_faults(delay_seconds=0.5, callbacks=False)  # 4 in flight, 0.5 s each
    job = threading.Thread(target=sender.run_chunk, args=(chunk_id,))
    job.start()
    fake_twilio.wait_for_messages(4, timeout=10)
    with runtime.database.session() as session:  # quiet hours begin, mid-chunk
        session.get(Broadcast, broadcast_id).state = "scheduled"
    at_pause = len(fake_twilio.messages())
    job.join(timeout=30)
    # The texts already with the provider finish; those claimed and waiting for a slot
    # do not go, and nothing is dropped as if aborted: it waits in the queue.
    assert len(fake_twilio.messages()) <= at_pause + 4
    statuses = Counter(r.status for r in ledger(runtime, broadcast_id))
    assert set(statuses) <= {"sent", "queued"} and 0 < statuses["queued"] < 24, statuses
    with runtime.database.session() as session:
        session.get(Broadcast, broadcast_id).state = "sending"
        session.execute(update(BroadcastChunk).values(lease_until=utcnow()))
    fake_twilio.set_faults(callbacks=False)
    sender.run_chunk(chunk_id)
    assert Counter(m["to"] for m in fake_twilio.messages()) == Counter(phones)


def test_a_claim_of_people_all_gone_since_planning_does_not_end_the_chunk(
    runtime, organizer, seed, sender, fake_twilio
):
    """More opted out after planning than the sender claims at once, and nothing in
    flight: the claim finds only texts to skip, and the chunk must still go on."""
    phones = seed(20)
    broadcast_id = confirmed(runtime, organizer)
    [chunk_id] = plan(runtime, broadcast_id)
    gone = phones[: 3 * sender.in_flight]
    with runtime.database.session() as session:
        session.execute(
            update(Subscriber)
            .where(Subscriber.phone_hash.in_([runtime.vault.lookup_hash(p) for p in gone]))
            .values(status="opted_out")
        )
    report = sender.run_chunk(chunk_id)
    assert report is not None and report.done
    assert sorted(m["to"] for m in fake_twilio.messages()) == sorted(phones[len(gone) :])
    assert Counter(r.status for r in ledger(runtime, broadcast_id))["skipped"] == len(gone)


def test_how_far_ahead_a_sender_claims():
    assert paced_ahead(0, 16) == most_unrecorded(16) == 32  # unpaced: all it may hold
    assert paced_ahead(10, 16) == MIN_AHEAD
    assert paced_ahead(200, 16) == 20
    assert paced_ahead(1000, 16) == 32


def test_a_paced_sender_claims_only_what_the_rate_will_soon_use(
    twilio_config, runtime, organizer, seed, fake_twilio
):
    """Texts claimed beyond what the rate uses up soon would only wait for rate tokens,
    and a kill -9 would leave them unknown though they never went."""
    rate, in_flight = 20, 16
    phones = seed(30)
    broadcast_id = confirmed(runtime, organizer)
    [chunk_id] = plan(runtime, broadcast_id)
    sender = Sender(
        runtime.database,
        runtime.vault,
        RateLimiter(runtime.redis, rate, key="rallyline:test:paced"),
        lambda: build_async_gateway(twilio_config),
        in_flight=in_flight,
    )
    most_claimed = 0
    job = threading.Thread(target=sender.run_chunk, args=(chunk_id,))
    try:
        job.start()
        while job.is_alive():
            with runtime.database.session(immediate=False) as session:
                claimed = session.scalar(
                    select(func.count()).where(
                        OutboundMessage.broadcast_id == broadcast_id,
                        OutboundMessage.status == "claimed",
                    )
                )
            most_claimed = max(most_claimed, claimed)
            job.join(timeout=0.01)
    finally:
        sender.close()
    assert sorted(m["to"] for m in fake_twilio.messages()) == sorted(phones)
    # Those claimed ahead, and one or two with the provider or about to be recorded
    # (the local server answers in milliseconds).
    assert 0 < most_claimed <= paced_ahead(rate, in_flight) + 2 < most_unrecorded(in_flight)
