"""The sending core against the real twilio-python client and the local Twilio server."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from service.domain import sending
from service.models import OutboundMessage, Subscriber, utcnow
from tests.domain.conftest import NUMBER


def queue(session, runtime, subscriber, body="The camp moved to City Hall"):  # type: ignore[no-untyped-def]
    message = sending.queue_notice(session, runtime.vault, body, subscriber=subscriber)
    session.commit()
    return message.id


def status_of(runtime, message_id):  # type: ignore[no-untyped-def]
    with runtime.database.session() as s:
        return s.get(OutboundMessage, message_id)


def send(runtime, gateway, message_id):  # type: ignore[no-untyped-def]
    return sending.send_one(runtime.database, runtime.vault, gateway, sending.Unpaced(), message_id)


def test_sends_once_and_records_the_provider_id(session, runtime, gateway, fake_twilio, subscriber):
    message_id = queue(session, runtime, subscriber)
    assert send(runtime, gateway, message_id) == "sent"
    [sent] = fake_twilio.wait_for_messages(1)
    assert sent["to"] == NUMBER and sent["body"] == "The camp moved to City Hall"
    assert sent["status_callback"] == "https://rallyline.example.org/twilio/status"
    assert status_of(runtime, message_id).provider_sid == sent["sid"]
    # A second run of the same job (a retry, a redelivery) sends nothing.
    assert send(runtime, gateway, message_id) == "sent"
    assert len(fake_twilio.messages()) == 1


def test_opt_out_is_checked_at_send_time(session, runtime, gateway, fake_twilio, subscriber):
    message_id = queue(session, runtime, subscriber)
    session.get(Subscriber, subscriber.id).status = "opted_out"
    session.commit()
    assert send(runtime, gateway, message_id) == "skipped"
    assert fake_twilio.messages() == []


def test_429_releases_the_claim_for_a_retry(session, runtime, gateway, fake_twilio, subscriber):
    fake_twilio.set_faults(every_nth_429=1)
    message_id = queue(session, runtime, subscriber)
    with pytest.raises(sending.RetryLater):
        send(runtime, gateway, message_id)
    assert status_of(runtime, message_id).status == "queued"
    fake_twilio.set_faults()
    assert send(runtime, gateway, message_id) == "sent"
    assert len(fake_twilio.messages()) == 1


def test_500_is_retryable(session, runtime, gateway, fake_twilio, subscriber):
    fake_twilio.set_faults(error_500_every_nth=1)
    message_id = queue(session, runtime, subscriber)
    with pytest.raises(sending.RetryLater):
        send(runtime, gateway, message_id)
    assert status_of(runtime, message_id).attempts == 1


def test_21610_fails_the_text_and_opts_the_number_out(
    session, runtime, gateway, fake_twilio, subscriber
):
    fake_twilio.set_faults(errors_for_numbers={NUMBER: 21610})
    message_id = queue(session, runtime, subscriber)
    assert send(runtime, gateway, message_id) == "failed"
    assert status_of(runtime, message_id).error_code == 21610
    session.expire_all()
    assert session.get(Subscriber, subscriber.id).status == "opted_out"


def test_invalid_number_marks_it_unreachable(session, runtime, gateway, fake_twilio, subscriber):
    fake_twilio.set_faults(errors_for_numbers={NUMBER: 21211})
    message_id = queue(session, runtime, subscriber)
    assert send(runtime, gateway, message_id) == "failed"
    session.expire_all()
    assert session.get(Subscriber, subscriber.id).status == "unreachable"


def test_a_timeout_is_reported_unknown_never_resent(
    session, runtime, twilio_config, fake_twilio, subscriber
):
    from service.gateway.twilio import TwilioGateway

    slow = TwilioGateway(
        twilio_config.twilio_account_sid,
        twilio_config.twilio_auth_token,
        from_number="+15005550006",
        api_base_url=fake_twilio.url,
        timeout=0.3,
    )
    fake_twilio.set_faults(delay_seconds=1.0)
    message_id = queue(session, runtime, subscriber)
    assert send(runtime, slow, message_id) == "unknown"
    assert send(runtime, slow, message_id) == "unknown"
    fake_twilio.wait_for_messages(1)  # it did arrive: resending would have doubled it
    assert len(fake_twilio.messages()) == 1


def test_connection_refused_is_retryable(session, runtime, twilio_config, subscriber):
    from service.gateway.twilio import TwilioGateway

    nowhere = TwilioGateway(
        twilio_config.twilio_account_sid,
        twilio_config.twilio_auth_token,
        from_number="+15005550006",
        api_base_url="http://127.0.0.1:1",
    )
    message_id = queue(session, runtime, subscriber)
    with pytest.raises(sending.RetryLater):
        send(runtime, nowhere, message_id)
    assert status_of(runtime, message_id).status == "queued"


def test_abandoned_claims_are_reported_unknown(session, runtime, subscriber):
    from datetime import timedelta

    message_id = queue(session, runtime, subscriber)
    long_ago = utcnow() - timedelta(minutes=5)
    assert sending.claim(session, runtime.vault, message_id, long_ago) is not None
    session.commit()
    assert sending.mark_abandoned_claims(session, utcnow()) == 1
    session.commit()
    assert status_of(runtime, message_id).status == "unknown"
    assert sending.claim(session, runtime.vault, message_id, utcnow()) is None


def test_claim_is_exclusive(session, runtime, subscriber):
    message_id = queue(session, runtime, subscriber)
    with runtime.database.session() as first:
        assert sending.claim(first, runtime.vault, message_id, utcnow()) is not None
    with runtime.database.session() as second:
        assert sending.claim(second, runtime.vault, message_id, utcnow()) is None


def test_ledger_rows_hold_no_clear_text(session, runtime, subscriber):
    message_id = queue(session, runtime, subscriber, body="meet at the church")
    row = session.execute(select(OutboundMessage.body_enc).where(OutboundMessage.id == message_id))
    assert b"church" not in row.scalar_one()
