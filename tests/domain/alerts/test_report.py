"""REPORT from anyone: pages the on-call dispatchers, limited per number, and the reporter
hears back when it is closed, never who responded or their numbers. FORGET takes the
reporter's number out of their reports."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from service.domain.alerts import reporting
from service.models import OutboundMessage, utcnow
from tests.domain.alerts.conftest import ANA, DISPATCHER, ORGANIZER, SUPPORTER

T = 300


def test_report_pages_the_on_call_dispatchers(phone, crew):
    reply = phone(SUPPORTER).text("REPORT ICE van outside the laundromat on 5th")
    assert "your report went to our on-call team" in reply
    [page] = crew.texts(DISPATCHER)
    assert page.startswith(
        "Camp Hope REPORT (unverified): ICE van outside the laundromat on 5th\nReply 1A"
    )
    assert crew.texts(ANA) == []  # responders are not paged for an unverified report
    assert crew.alert().kind == "report"


def test_reports_are_limited_to_one_per_five_minutes_per_number(phone, crew, session):
    phone(SUPPORTER).text("REPORT raid at the school")
    reply = phone(SUPPORTER).text("REPORT raid at the school, 3 vans")
    assert "we already have your report" in reply and "in 5 min" in reply
    assert len(crew.texts(DISPATCHER)) == 1
    # Another number may report at once.
    assert "your report went" in phone("+12155550160").text("REPORT vans on Elm")
    hash_ = phone(SUPPORTER).client.application.extensions["rallyline"].vault.lookup_hash(SUPPORTER)
    assert (
        reporting.wait_before_next(session, hash_, utcnow() + timedelta(minutes=5, seconds=1)) == 0
    )


def test_two_reports_from_one_number_at_the_same_instant_take_turns(app, crew):
    """The second REPORT waits for the first's transaction, then finds it: one page, not two."""
    from concurrent.futures import ThreadPoolExecutor

    from service.domain.alerts import escalation
    from tests.support.phone import Phone

    rt = crew.runtime
    with ThreadPoolExecutor(1) as pool:
        with rt.database.session() as first:
            now = utcnow()
            assert reporting.wait_before_next(first, rt.vault.lookup_hash(SUPPORTER), now) == 0
            second = pool.submit(Phone(app.test_client(), SUPPORTER).text, "REPORT vans, again")
            escalation.open_alert(
                first,
                rt.vault,
                rt.config,
                kind="report",
                message="vans on Elm",
                now=now,
                reporter_phone=SUPPORTER,
            )
            # The second waits for the first's transaction, however long it takes...
            with pytest.raises(TimeoutError):
                second.result(timeout=1)
        # ...then finds the first report, instead of having checked before it existed.
        assert "we already have your report" in second.result(timeout=30)
    assert len(crew.texts(DISPATCHER)) == 1


def test_report_in_spanish_is_answered_in_spanish(phone, crew):
    assert "tu reporte" in phone(SUPPORTER).text("REPORTAR redada en la escuela")
    assert "ya tenemos tu reporte" in phone(SUPPORTER).text("REPORTAR otra vez")
    assert "REPORTAR y qué pasa" in phone("+12155550161").text("REPORTAR")


def test_empty_report_asks_for_what_and_where(phone, crew):
    assert "what is happening and where" in phone(SUPPORTER).text("REPORT")
    assert crew.alert() is None


def test_close_tells_the_reporter_without_revealing_anyone(phone, crew):
    phone(SUPPORTER).text("REPORTAR redada en la escuela")
    phone(DISPATCHER).text("1A")
    assert crew.to_number(SUPPORTER) == []  # an ack is not a close
    phone(DISPATCHER).text("1C")
    [told] = crew.to_number(SUPPORTER)
    assert told == "Camp Hope: hay personas respondiendo. Gracias por tu reporte."
    assert "Dee" not in told and "555" not in told
    assert ("notified", "reporter told responders are on it") in crew.timeline(1)


def test_a_report_with_no_dispatcher_on_call_goes_to_the_organizers(phone, crew):
    phone(DISPATCHER).text("OFFCALL")
    assert "your report went" in phone(SUPPORTER).text("REPORT vans on Elm")
    assert "UNANSWERED (no dispatcher is on call)" in crew.texts(ORGANIZER)[-1]
    assert crew.alert().status == "unanswered"


def test_an_opted_out_number_is_heard_but_not_answered(phone, crew):
    phone(SUPPORTER).text("JOIN")
    phone(SUPPORTER).text("STOP")
    assert phone(SUPPORTER).text("REPORT vans on Elm") is None
    assert len(crew.texts(DISPATCHER)) == 1


def test_report_escalates_through_dispatcher_tiers(phone, crew):
    crew.add("+12155550141", "dispatcher", "Dario", tier=2)
    phone(SUPPORTER).text("REPORT vans on Elm")
    assert len(crew.sweep(T + 1)) == 1
    assert "REPORT (unverified)" in crew.texts("+12155550141")[0]


def test_forget_takes_the_reporter_out_of_their_reports(phone, crew):
    phone(SUPPORTER).text("REPORT vans on Elm")
    phone(DISPATCHER).text("1C")
    assert len(crew.to_number(SUPPORTER)) == 1

    assert "erased" in phone(SUPPORTER).text("FORGET")
    report = crew.alert()
    assert report.reporter_enc is None and report.reporter_language is None
    assert report.reporter_hash is not None  # the per-number limit still holds
    assert report.body_enc is not None  # the report itself stays for the responders
    with crew.runtime.database.session() as session:
        [told] = session.scalars(
            select(OutboundMessage).where(
                OutboundMessage.person_id.is_(None), OutboundMessage.subscriber_id.is_(None)
            )
        ).all()
        assert told.to_enc is None and told.body_enc is None


def test_a_report_closed_after_forget_tells_nobody(phone, crew):
    phone(SUPPORTER).text("REPORT vans on Elm")
    phone(SUPPORTER).text("FORGET")
    phone(DISPATCHER).text("1C")
    assert crew.alert().status == "closed"
    assert crew.to_number(SUPPORTER) == []
