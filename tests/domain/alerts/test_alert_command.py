"""ALERT, ONCALL and OFFCALL through the signed webhook."""

from __future__ import annotations

from service.domain import zones
from tests.domain.alerts.conftest import ANA, BEN, CARLA, DISPATCHER, ORGANIZER, SUPPORTER

TIMEOUT = 300  # the test configuration's ESCALATION_TIMEOUT_SECONDS default


def test_alert_pages_every_on_call_tier_one_responder_once(phone, crew, redis_conn):
    reply = phone(ORGANIZER).text("ALERT ICE van at 5th and Main")
    assert "alert #1 opened" in reply and "Paging 2 tier-1" in reply
    [ana] = crew.texts(ANA)
    [ben] = crew.texts(BEN)
    assert "Camp Hope ALERT: ICE van at 5th and Main" in ana
    assert "Reply 1A to acknowledge, 1C to close, 1E to escalate." in ana
    assert "Reply 1A" in ben
    assert crew.texts(CARLA) == []
    # The pages go out together: one send job (up to 10 pages), on the alerts queue.
    assert redis_conn.llen("rq:queue:alerts") == 1
    assert crew.alert().next_escalation_at is not None


def test_dispatchers_may_alert_supporters_and_responders_may_not(phone, crew):
    assert "opened" in phone(DISPATCHER).text("ALERT march blocked at bridge")
    assert "opened" not in (phone(ANA).text("ALERT fake") or "")
    assert "opened" not in (phone(SUPPORTER).text("ALERT fake") or "")
    assert crew.alert().id == 1


def test_alert_to_a_zone_pages_only_that_zone(phone, crew, session):
    zones.add_zone(session, "north")
    session.commit()
    crew.add("+12155550131", "responder", "Nia", tier=1, zone="NORTH")
    reply = phone(ORGANIZER).text("ALERT @north raid on Elm St")
    assert "Paging 1 tier-1 responder(s) in NORTH" in reply
    assert "ALERT @NORTH: raid on Elm St" in crew.texts("+12155550131")[0]
    assert crew.texts(ANA) == [] and crew.texts(BEN) == []


def test_alert_to_an_unknown_zone_or_without_a_message_is_explained(phone, crew):
    assert 'no zone "mars"' in phone(ORGANIZER).text("ALERT @mars help")
    assert "reply ALERT and what is happening" in phone(ORGANIZER).text("ALERT")
    assert crew.alert() is None


def test_offcall_responders_are_never_paged(phone, crew):
    assert "OFF CALL" in phone(ANA).text("offcall")
    phone(ORGANIZER).text("ALERT ICE at the school")
    assert crew.texts(ANA) == []
    assert len(crew.texts(BEN)) == 1
    # ... not even when the alert escalates and repeats.
    crew.sweep(TIMEOUT + 1)
    crew.sweep(2 * TIMEOUT + 2)
    assert crew.texts(ANA) == []
    assert "ON CALL (tier 1)" in phone(ANA).text("ONCALL")


def test_oncall_with_a_zone_sets_the_zone(phone, crew, session):
    zones.add_zone(session, "south")
    session.commit()
    assert "ON CALL (tier 1, SOUTH)" in phone(ANA).text("ONCALL south")
    assert "Paging 1" in phone(ORGANIZER).text("ALERT @south checkpoint")


def test_nobody_on_call_says_so_and_pages_nobody(phone, crew):
    for number in (ANA, BEN, CARLA):
        phone(number).text("OFFCALL")
    assert "no responder is on call" in phone(ORGANIZER).text("ALERT help")
    assert crew.alert() is None


def test_lower_tier_goes_first_when_tier_one_is_empty(phone, crew):
    phone(ANA).text("OFFCALL")
    phone(BEN).text("OFFCALL")
    assert "tier-2" in phone(ORGANIZER).text("ALERT help")
    assert len(crew.texts(CARLA)) == 1


def test_a_twilio_retry_of_alert_pages_once(phone, crew):
    first = phone(ORGANIZER).text("ALERT raid", sid="SM" + "b" * 32)
    again = phone(ORGANIZER).text("ALERT raid", sid="SM" + "b" * 32)
    assert first == again
    assert len(crew.texts(ANA)) == 1


def test_the_timeline_records_opened_and_paged(phone, crew):
    phone(ORGANIZER).text("ALERT raid")
    events = crew.timeline(1)
    assert events[0] == ("opened", "alert opened by Olga (organizer)")
    assert events[1] == ("paged", "tier 1 paged: Ana, Ben")
    # Neither numbers nor the message are in the timeline.
    assert all("raid" not in d and "555" not in d for _, d in events)
