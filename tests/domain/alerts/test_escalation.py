"""Escalation against a clock the test moves: tiers, repeats, giving up, fencing, skipping
pages that cannot arrive."""

from __future__ import annotations

from datetime import timedelta

from service.domain import delivery, sending
from service.domain.alerts import escalation, outcomes
from service.gateway.base import SendError
from service.models import AlertText, OutboundMessage, utcnow
from tests.domain.alerts.conftest import ANA, BEN, CARLA, ORGANIZER

T = 300  # ESCALATION_TIMEOUT_SECONDS in the test configuration


def test_no_ack_pages_tier_two_then_repeats_then_tells_organizers(phone, crew):
    phone(ORGANIZER).text("ALERT raid on Elm")
    assert crew.sweep(T - 5) == []  # not yet due
    assert len(crew.sweep(T + 1)) == 1  # tier 2: Carla
    assert "ALERT: raid on Elm" in crew.texts(CARLA)[0]
    assert len(crew.sweep(2 * T + 2)) == 2  # round 2 (ESCALATION_REPEAT=1): tier 1 again
    assert "STILL UNANSWERED (page 2)" in crew.texts(ANA)[1]
    assert "Reply 1A" in crew.texts(ANA)[1]  # the same code as the first page
    assert len(crew.sweep(3 * T + 3)) == 1  # tier 2 again
    organizer_before = len(crew.texts(ORGANIZER))
    assert len(crew.sweep(4 * T + 4)) == 1  # given up: the organizer is told
    assert crew.sweep(99 * T) == []
    alert = crew.alert()
    assert alert.status == "unanswered" and alert.next_escalation_at is None
    told = crew.texts(ORGANIZER)[organizer_before:]
    assert told == [
        "Camp Hope: alert #1 went UNANSWERED (nobody acknowledged after 2 rounds of paging). "
        "Reach responders another way: raid on Elm"
    ]
    kinds = [k for k, _ in crew.timeline(1)]
    assert kinds == ["opened", "paged", "escalated", "repeated", "escalated", "unanswered"]
    # A late acknowledgement still counts.
    assert "responding to alert 1" in phone(CARLA).text("1A")


def test_two_sweeps_for_the_same_step_page_once(phone, crew, runtime):
    phone(ORGANIZER).text("ALERT raid")
    later = utcnow() + timedelta(seconds=T + 1)
    # Interleaved in one thread: on SQLite that needs sessions that don't take the write
    # lock up front (between processes, BEGIN IMMEDIATE would serialize the two sweeps).
    with (
        runtime.database.session(immediate=False) as one,
        runtime.database.session(immediate=False) as two,
    ):
        [(alert_id, step)] = escalation.due(one, later)
        seen_by_two = escalation.due(two, later)
        if runtime.database.is_sqlite:
            assert seen_by_two == [(alert_id, step)]
        else:  # FOR UPDATE SKIP LOCKED: a concurrent sweep takes other work
            assert seen_by_two == []
        first = escalation.advance(one, runtime.vault, runtime.config, alert_id, step, later)
        one.commit()
        second = escalation.advance(two, runtime.vault, runtime.config, alert_id, step, later)
    assert first is not None and len(first.message_ids) == 1
    assert second is None
    assert len(crew.texts(CARLA)) == 1


def test_a_retried_advance_for_an_old_step_does_nothing(phone, crew, runtime):
    phone(ORGANIZER).text("ALERT raid")
    later = utcnow() + timedelta(seconds=T + 1)
    with runtime.database.session() as session:
        assert escalation.advance(session, runtime.vault, runtime.config, 1, 1, later)
    with runtime.database.session() as session:
        assert escalation.advance(session, runtime.vault, runtime.config, 1, 1, later) is None
    assert len(crew.texts(CARLA)) == 1


def test_an_ack_fences_out_an_escalation_read_before_it(phone, crew, runtime):
    phone(ORGANIZER).text("ALERT raid")
    later = utcnow() + timedelta(seconds=T + 1)
    with runtime.database.session() as session:
        [(alert_id, step)] = escalation.due(session, later)
    phone(ANA).text("1A")  # lands between the sweep's read and its update
    with runtime.database.session() as session:
        assert (
            escalation.advance(session, runtime.vault, runtime.config, alert_id, step, later)
            is None
        )
    assert crew.texts(CARLA) == []


def test_undelivered_pages_skip_to_the_next_tier_without_waiting(phone, crew, runtime):
    phone(ORGANIZER).text("ALERT raid")
    with runtime.database.session() as session:
        pages = [t.message_id for t in session.query(AlertText).filter_by(kind="page")]
    now = utcnow()
    # Ana's page: Twilio refuses it at send time (recorded by the sending core).
    with runtime.database.session() as session:
        assert sending.claim(session, runtime.vault, pages[0], now)
        assert sending.record_failure(session, pages[0], SendError("x", code=21211), now) == (
            "failed"
        )
        outcomes.settle(session, session.get(OutboundMessage, pages[0]), now)
    assert crew.sweep(1) == []  # Ben's page may still arrive: wait for him
    # Ben's page: accepted, then the status callback says undelivered.
    with runtime.database.session() as session:
        assert sending.claim(session, runtime.vault, pages[1], now)
        sending.record_sent(session, pages[1], "SMben", now)
    with runtime.database.session() as session:
        delivery.record(session, "SMben", "sent", None, now)
        delivery.record(session, "SMben", "undelivered", 30003, now)
    assert len(crew.sweep(1)) == 1  # tier 2 at once, not after the timeout
    assert len(crew.texts(CARLA)) == 1
    kinds = [k for k, _ in crew.timeline(1)]
    assert kinds == ["opened", "paged", "not_delivered", "not_delivered", "skipping", "escalated"]
    assert "page to Ben not delivered (error 30003)" in dict(crew.timeline(1)).values()


def test_a_delivered_page_is_waited_on(phone, crew, runtime):
    phone(ORGANIZER).text("ALERT raid")
    with runtime.database.session() as session:
        pages = [t.message_id for t in session.query(AlertText).filter_by(kind="page")]
    now = utcnow()
    with runtime.database.session() as session:
        sending.claim(session, runtime.vault, pages[0], now)
        sending.record_failure(session, pages[0], SendError("x", code=21211), now)
        sending.claim(session, runtime.vault, pages[1], now)
        sending.record_sent(session, pages[1], "SMben", now)
    with runtime.database.session() as session:
        delivery.record(session, "SMben", "delivered", None, now)
    with runtime.database.session() as session:
        for message in outcomes.unsettled_final(session, utcnow()):
            outcomes.settle(session, message, utcnow())
    assert crew.sweep(1) == []
    assert ("delivered", "page delivered to Ben") in crew.timeline(1)


def test_pages_of_a_closed_alert_are_skipped_at_claim(phone, crew, runtime):
    phone(ORGANIZER).text("ALERT raid")
    phone(ANA).text("1C")
    with runtime.database.session() as session:
        ben_page = [t.message_id for t in session.query(AlertText).filter_by(kind="page")][1]
        assert sending.claim(session, runtime.vault, ben_page, utcnow()) is None
        assert session.get(OutboundMessage, ben_page).status == "skipped"


def test_pages_to_someone_gone_off_call_are_skipped_at_claim(phone, crew, runtime):
    phone(ORGANIZER).text("ALERT raid")
    phone(BEN).text("OFFCALL")
    with runtime.database.session() as session:
        ben_page = [t.message_id for t in session.query(AlertText).filter_by(kind="page")][1]
        assert sending.claim(session, runtime.vault, ben_page, utcnow()) is None
