"""Unknown texts looked up at the provider: the real twilio-python client, the local server."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from service.domain import delivery, people, sending, unknowns
from service.gateway.build import build_gateway
from service.models import OutboundMessage, utcnow
from tests.domain.conftest import NUMBER
from tests.support.records import add_subscriber

OTHER = "+12155550101"


def unknown_text(session, runtime, subscriber=None, claimed_ago=timedelta(minutes=2), **to):  # type: ignore[no-untyped-def]
    """What a worker killed during the provider call leaves behind; addressed to the
    subscriber, or as `to` says (person=, or to= a bare number)."""
    message = sending.queue_notice(
        session, runtime.vault, "The camp moved.", subscriber=subscriber, **to
    )
    message.status = "unknown"
    message.claimed_at = message.updated_at = utcnow() - claimed_ago
    session.commit()
    return message.id


def look_up(runtime, gateway, now=None):  # type: ignore[no-untyped-def]
    return unknowns.look_up(runtime.database, runtime.vault, gateway, now or utcnow())


def row(runtime, message_id):  # type: ignore[no-untyped-def]
    with runtime.database.session(immediate=False) as session:
        return session.get(OutboundMessage, message_id)


def test_a_text_the_provider_holds_is_recorded_with_its_callbacks(
    session, runtime, gateway, subscriber
):
    message_id = unknown_text(session, runtime, subscriber)
    sid = gateway.send(NUMBER, "The camp moved.")
    # Its callback came while nobody knew the id: kept, waiting for the id.
    delivery.record(session, sid, "delivered", None, utcnow())
    session.commit()

    assert look_up(runtime, gateway) == {"found": 1}
    found = row(runtime, message_id)
    assert (found.status, found.provider_sid) == ("delivered", sid)
    assert found.sent_at >= found.claimed_at  # when the provider took it
    assert look_up(runtime, gateway) == {}


def test_a_text_the_provider_never_got_stays_unknown_and_is_asked_about_once(
    session, runtime, gateway, subscriber, fake_twilio
):
    message_id = unknown_text(session, runtime, subscriber)
    gateway.send(OTHER, "Someone else's text.")

    assert look_up(runtime, gateway) == {"not found": 1}
    left = row(runtime, message_id)
    assert (left.status, left.provider_sid) == ("unknown", None)
    assert left.looked_up_at is not None
    assert look_up(runtime, gateway) == {}
    assert len(fake_twilio.messages()) == 1  # never sent again


def test_a_text_the_ledger_knows_is_not_the_one(session, runtime, gateway, subscriber):
    message_id = unknown_text(session, runtime, subscriber)
    # Sent after the claim, but to another row of the ledger, which recorded its id.
    known_sid = gateway.send(NUMBER, "Another notice, recorded.")
    recorded = sending.queue_notice(session, runtime.vault, "recorded", subscriber=subscriber)
    recorded.status, recorded.provider_sid = "delivered", known_sid
    session.commit()

    assert look_up(runtime, gateway) == {"not found": 1}
    assert row(runtime, message_id).status == "unknown"


def test_a_text_from_before_the_claim_is_not_the_one(session, runtime, gateway, subscriber):
    gateway.send(NUMBER, "Sent before the claim.")
    message_id = unknown_text(session, runtime, subscriber)
    # The claim came later than the provider's clock can be off from ours.
    now = utcnow() + unknowns.CLOCK_SKEW + timedelta(minutes=3)
    with runtime.database.session() as s:
        s.get(OutboundMessage, message_id).claimed_at = now - timedelta(minutes=1)

    assert look_up(runtime, gateway, now) == {"not found": 1}
    assert row(runtime, message_id).status == "unknown"


def test_two_candidates_or_two_unknown_texts_to_one_person_are_left_alone(
    session, runtime, gateway, subscriber
):
    first = unknown_text(session, runtime, subscriber)
    gateway.send(NUMBER, "One of them.")
    assert look_up(runtime, gateway) == {"found": 1}  # alone, it is matched

    second = unknown_text(session, runtime, subscriber)
    third = unknown_text(session, runtime, subscriber)
    gateway.send(NUMBER, "Which one?")
    assert look_up(runtime, gateway) == {"ambiguous": 2}
    assert {row(runtime, m).status for m in (second, third)} == {"unknown"}
    assert row(runtime, first).status == "sent"


def test_unknown_texts_to_one_number_by_other_routes_are_left_alone(
    session, runtime, gateway, subscriber
):
    """The subscriber is also a responder, and reported something: three ledger rows
    reach the one number, and the provider's one text could be any of them."""
    responder = people.register(session, runtime.vault, NUMBER, "responder")
    as_subscriber = unknown_text(session, runtime, subscriber)
    as_person = unknown_text(session, runtime, person=responder)
    as_reporter = unknown_text(session, runtime, to=NUMBER)
    gateway.send(NUMBER, "Which one?")

    assert look_up(runtime, gateway) == {"ambiguous": 3}
    assert {row(runtime, m).status for m in (as_subscriber, as_person, as_reporter)} == {"unknown"}


def test_unknown_texts_to_two_bare_numbers_are_told_apart(session, runtime, gateway):
    reporter = unknown_text(session, runtime, to=NUMBER)
    unknown_text(session, runtime, to=OTHER)
    sid = gateway.send(NUMBER, "Responders are on it.")

    assert look_up(runtime, gateway) == {"found": 1, "not found": 1}
    assert (row(runtime, reporter).status, row(runtime, reporter).provider_sid) == ("sent", sid)


def test_two_texts_the_ledger_does_not_know_leave_it_unknown(session, runtime, gateway):
    other = add_subscriber(session, runtime.vault, OTHER)
    message_id = unknown_text(session, runtime, other)
    gateway.send(OTHER, "Sent by something else on this account?")
    gateway.send(OTHER, "Or this one?")
    assert look_up(runtime, gateway) == {"ambiguous": 1}
    assert row(runtime, message_id).status == "unknown"


def test_too_soon_and_unreachable_provider(session, runtime, twilio_config, subscriber):
    message_id = unknown_text(session, runtime, subscriber, claimed_ago=timedelta(seconds=5))
    nowhere = build_gateway(replace(twilio_config, twilio_api_base_url="http://127.0.0.1:9"))
    assert look_up(runtime, nowhere) == {}  # the provider's list may lag a fresh text

    later = utcnow() + unknowns.LOOK_AFTER
    assert look_up(runtime, nowhere, later) == {"unavailable": 1}
    assert row(runtime, message_id).looked_up_at is None  # asked again next time


def test_a_forgotten_number_has_nothing_to_ask(session, runtime, gateway, subscriber):
    message_id = unknown_text(session, runtime, subscriber)
    session.get(type(subscriber), subscriber.id).phone_enc = None
    session.commit()
    assert look_up(runtime, gateway) == {}
    assert row(runtime, message_id).looked_up_at is not None
