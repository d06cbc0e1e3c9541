"""Acknowledge, close and escalate by reply code: right, wrong, stale, someone else's,
lower case, spaces, quotes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from service.domain.alerts import reply_codes
from service.models import Person, utcnow
from tests.domain.alerts.conftest import ANA, BEN, CARLA, ORGANIZER, SUPPORTER

TIMEOUT = 300


def test_first_ack_stops_escalation_and_everyone_paged_is_told(phone, crew):
    phone(ORGANIZER).text("ALERT ICE van at 5th and Main")
    reply = phone(ANA).text("1A")
    assert "you are responding to alert 1" in reply and "1C" in reply
    alert = crew.alert()
    assert alert.status == "acknowledged" and alert.next_escalation_at is None
    assert crew.texts(BEN)[-1] == "Camp Hope: Ana is responding to alert 1: ICE van at 5th and Main"
    assert crew.texts(ORGANIZER)[-1].startswith("Camp Hope: Ana is responding to alert #1")
    assert len(crew.texts(ANA)) == 1  # the acker is not told about themself
    # No tier-2 page, ever.
    assert crew.sweep(TIMEOUT + 1) == []
    assert crew.sweep(10 * TIMEOUT) == []
    assert crew.texts(CARLA) == []


def test_later_ack_is_told_who_has_it(phone, crew):
    phone(ORGANIZER).text("ALERT raid")
    phone(ANA).text("1A")
    assert phone(BEN).text("1A") == "Camp Hope: alert 1 was already acknowledged by Ana."
    assert "you already acknowledged alert 1" in phone(ANA).text("1A")


@pytest.mark.parametrize("body", ["1a", " 1 A ", '"1A"', "'1a'", "1A.", "1 a!"])
def test_codes_forgive_case_spaces_and_quotes(phone, crew, body):
    phone(ORGANIZER).text("ALERT raid")
    assert "you are responding to alert 1" in phone(ANA).text(body)


def test_bare_a_acknowledges_the_latest_alert_i_was_paged_for(phone, crew):
    phone(ORGANIZER).text("ALERT first")
    phone(ORGANIZER).text("ALERT second")
    assert crew.texts(ANA)[-1].endswith("Reply 2A to acknowledge, 2C to close, 2E to escalate.")
    assert "responding to alert 2" in phone(ANA).text("a")
    assert crew.alert(2).status == "acknowledged"
    assert crew.alert(1).status == "open"


def test_bare_a_with_nothing_paged(phone, crew):
    assert phone(ANA).text("A") == "Camp Hope: you have no alert to acknowledge."


def test_wrong_code_lists_my_open_alerts(phone, crew):
    phone(ORGANIZER).text("ALERT raid")
    assert phone(ANA).text("7A") == ("Camp Hope: you have no alert 7. Your open alerts: 1.")
    assert "You have no open alerts" in phone(CARLA).text("1A")
    assert crew.alert().status == "open"


def test_code_of_someone_elses_alert_does_nothing(phone, crew):
    phone(ORGANIZER).text("ALERT first")
    phone(ANA).text("OFFCALL")
    phone(ORGANIZER).text("ALERT second")  # Ben's code 2; Ana was not paged
    assert "you have no alert 2" in phone(ANA).text("2A")
    assert crew.alert(2).status == "open"


def test_stale_code_of_a_closed_alert(phone, crew):
    phone(ORGANIZER).text("ALERT raid")
    assert phone(ANA).text("1C") == "Camp Hope: alert 1 is closed. Thank you."
    assert phone(BEN).text("1A") == "Camp Hope: alert 1 is already closed."
    assert phone(ANA).text("1C") == "Camp Hope: alert 1 is already closed."
    assert "closed by Ana" in crew.texts(BEN)[-1]


def test_codes_are_per_person(phone, crew):
    phone(ANA).text("OFFCALL")
    phone(ORGANIZER).text("ALERT one")  # Ben 1
    phone(ANA).text("ONCALL")
    phone(ORGANIZER).text("ALERT two")  # Ana 1, Ben 2
    assert "Reply 1A" in crew.texts(ANA)[-1]
    assert "Reply 2A" in crew.texts(BEN)[-1]
    phone(ANA).text("1A")
    assert crew.alert(2).status == "acknowledged" and crew.alert(1).status == "open"


def test_codes_are_reused_only_after_close_and_cooldown(session, runtime, crew):
    ana = session.query(Person).filter_by(name="Ana").one()
    now = utcnow()
    from service.models import Alert

    alerts = [Alert(kind="alert", audience="responder", status="open") for _ in range(3)]
    session.add_all(alerts)
    session.flush()
    first, second, third = (a.id for a in alerts)
    assert reply_codes.assign_many(session, [ana.id], first, now) == {ana.id: 1}
    assert reply_codes.assign_many(session, [ana.id], first, now) == {ana.id: 1}
    assert reply_codes.assign_many(session, [ana.id], second, now) == {ana.id: 2}
    reply_codes.release(session, first, now)
    # Closed, but inside the cooldown: 1 stays with the closed alert.
    assert reply_codes.assign_many(session, [ana.id], third, now) == {ana.id: 3}
    reply_codes.release(session, third, now)
    later = now + reply_codes.COOLDOWN + timedelta(seconds=1)
    fourth = Alert(kind="alert", audience="responder", status="open")
    session.add(fourth)
    session.flush()
    assert reply_codes.assign_many(session, [ana.id], fourth.id, later) == {ana.id: 1}


def test_escalate_by_code_pages_the_next_tier_now(phone, crew):
    phone(ORGANIZER).text("ALERT raid")
    assert "tier 2 is being paged" in phone(BEN).text("1E")
    assert len(crew.texts(CARLA)) == 1
    assert crew.alert().tier == 2
    # Escalating an acknowledged alert re-opens it.
    phone(CARLA).text("1A")
    assert crew.alert().status == "acknowledged"
    assert "no more tiers" not in phone(CARLA).text("1E")
    assert crew.alert().status == "open"


def test_a_supporter_texting_a_is_just_a_supporter(phone, crew):
    reply = phone(SUPPORTER).text("A")
    assert reply is not None and "JOIN" in reply
