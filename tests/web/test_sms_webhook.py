"""The inbound webhook's contract: signatures, validation, idempotency, durability."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from service.models import InboundMessage, Subscriber
from tests.support.phone import new_sid, replies, sign

URL = "https://rallyline.example.org/twilio/sms"


def count(session, model):  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def form(**overrides: str) -> dict[str, str]:
    return {
        "MessageSid": new_sid(),
        "From": "+12155550100",
        "To": "+15005550006",
        "Body": "JOIN",
        **overrides,
    }


def post_signed(client, data, url=URL, **kwargs):  # type: ignore[no-untyped-def]
    return client.post(
        "/twilio/sms", data=data, headers={"X-Twilio-Signature": sign(url, data)}, **kwargs
    )


def test_answers_twiml(client):
    response = post_signed(client, form())
    assert response.status_code == 200
    assert response.content_type.startswith("text/xml")
    assert "you joined" in replies(response.data)[0]


@pytest.mark.parametrize(
    "signature",
    # The last is UTF-8 read as Latin-1, as a header with non-ASCII bytes arrives.
    [None, "", "bm90IGEgc2lnbmF0dXJl", "x" * 5000, "é☃".encode().decode("latin-1")],
)
def test_missing_or_wrong_signature_is_403_with_no_effect(client, session, signature):
    headers = {} if signature is None else {"X-Twilio-Signature": signature}
    response = client.post("/twilio/sms", data=form(), headers=headers)
    assert response.status_code == 403
    assert count(session, InboundMessage) == 0 and count(session, Subscriber) == 0


def test_signature_for_another_url_or_body_is_refused(client, session):
    data = form()
    assert post_signed(client, data, url="https://evil.example.org/twilio/sms").status_code == 403
    signature = sign(URL, data)
    tampered = {**data, "Body": "STOP"}
    response = client.post("/twilio/sms", data=tampered, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403
    assert count(session, InboundMessage) == 0


def test_behind_a_tls_proxy_the_public_url_is_what_counts(client):
    # The proxy forwards plain HTTP to an internal host; Twilio signed the public https URL.
    response = client.post(
        "/twilio/sms",
        data=(data := form()),
        base_url="http://10.0.0.7:8000",
        headers={"X-Twilio-Signature": sign(URL, data), "X-Forwarded-Proto": "https"},
    )
    assert response.status_code == 200


def test_unknown_twilio_fields_are_ignored_not_rejected(client):
    data = form(FromCity="PHILADELPHIA", NumSegments="1", SomethingNew="surprise")
    assert post_signed(client, data).status_code == 200


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"From": "+12155550100", "Body": "JOIN"}, "MessageSid"),
        ({"MessageSid": new_sid(), "Body": "JOIN"}, "From"),
        ({"MessageSid": new_sid(), "From": "not a number", "Body": "JOIN"}, "From"),
        ({"MessageSid": new_sid(), "From": "+1215", "Body": "JOIN"}, "From"),
        ({"MessageSid": "SM123", "From": "+12155550100", "Body": "JOIN"}, "MessageSid"),
        ({"MessageSid": new_sid(), "From": "+12155550100", "Body": "x" * 1601}, "Body"),
    ],
)
def test_bad_forms_get_400_with_a_reason_and_no_effect(client, session, data, reason):
    response = post_signed(client, data)
    assert response.status_code == 400
    assert reason in response.get_data(as_text=True)
    assert count(session, InboundMessage) == 0 and count(session, Subscriber) == 0


def test_hostile_bodies_never_500(client, session):
    attempts = [
        dict(data=b"\xff\xfe\x00garbage\x80\x81", content_type="application/x-www-form-urlencoded"),
        dict(data=b"\x00" * 100, content_type="application/octet-stream"),
        dict(json={"MessageSid": new_sid(), "From": "+12155550100", "Body": "JOIN"}),
        dict(data="From=%ZZ&Body=%", content_type="application/x-www-form-urlencoded"),
        dict(data=b"A=" + b"x" * (200 * 1024), content_type="application/x-www-form-urlencoded"),
        dict(data={"Body": "\u202e\U0001f4a9" * 500}),
    ]
    for attempt in attempts:
        response = client.post("/twilio/sms", headers={"X-Twilio-Signature": "abc"}, **attempt)
        assert 400 <= response.status_code < 500, attempt
    assert count(session, InboundMessage) == 0


def test_huge_signed_form_is_refused_with_413(client, session):
    data = form(Body="x" * 100_000)
    assert post_signed(client, data).status_code == 413
    assert count(session, InboundMessage) == 0


def test_repeated_keys_are_signed_and_read_consistently(client, session):
    from werkzeug.datastructures import MultiDict

    data = MultiDict(
        [("MessageSid", new_sid()), ("From", "+12155550100"), ("Body", "JOIN"), ("Body", "STOP")]
    )
    signature = sign(URL, data)
    response = client.post("/twilio/sms", data=data, headers={"X-Twilio-Signature": signature})
    # Twilio never repeats a field; if someone does, the first value is the one acted on.
    assert response.status_code == 200
    assert "you joined" in replies(response.data)[0]
    assert session.scalar(select(Subscriber.status)) == "active"


def test_unicode_bodies_are_kept_exactly(client, session, runtime):
    body = "Policía en la puerta 🚓 — ayuda «ahora»"
    assert post_signed(client, form(Body=body)).status_code == 200
    record = session.scalar(select(InboundMessage))
    assert runtime.vault.decrypt(record.body_enc) == body


def test_a_twilio_retry_gets_the_same_answer_and_changes_nothing(client, session):
    data = form(Body="JOIN")
    first = post_signed(client, data)
    subscribers = count(session, Subscriber)
    second = post_signed(client, data)
    assert second.status_code == 200 and second.data == first.data
    assert count(session, InboundMessage) == 1 and count(session, Subscriber) == subscribers


def test_a_retried_stop_still_confirms_once(client, session):
    post_signed(client, form(Body="JOIN"))
    data = form(Body="STOP")
    first = replies(post_signed(client, data).data)
    again = replies(post_signed(client, data).data)
    assert first == again and "unsubscribed" in first[0]
    assert count(session, InboundMessage) == 2


def test_accepted_text_is_committed_before_the_answer(client, app, config):
    from service.database import Database

    data = form(Body="STOP")
    assert post_signed(client, data).status_code == 200
    # A separate connection sees it at once: it was committed, not merely flushed.
    other = Database(config.database_url)
    try:
        with other.session() as fresh:
            assert fresh.scalar(select(Subscriber.status)) == "opted_out"
    finally:
        other.dispose()


def test_database_down_answers_503_not_500(config):
    from dataclasses import replace

    from service import create_app

    # A real refused connection: nothing listens on port 1.
    down = create_app(replace(config, database_url="postgresql+psycopg://postgres@127.0.0.1:1/x"))
    response = post_signed(down.test_client(), form())
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert b"database unavailable" in response.data


def test_concurrent_deliveries_of_one_text_have_one_effect(app, session):
    """Twilio's retry can overlap the original: both answer the same, one record, one effect."""
    from concurrent.futures import ThreadPoolExecutor

    data = form(Body="JOIN")

    def deliver(_: int) -> bytes:
        response = post_signed(app.test_client(), data)
        assert response.status_code == 200
        return response.data

    with ThreadPoolExecutor(4) as pool:
        answers = set(pool.map(deliver, range(8)))
    assert len(answers) == 1 and b"you joined" in answers.pop()
    assert count(session, InboundMessage) == 1 and count(session, Subscriber) == 1


def test_two_first_texts_from_one_new_number_at_once_both_count(app, session):
    from concurrent.futures import ThreadPoolExecutor

    bodies = ["JOIN", "hello there", "ZONE 19104", "HELP"]

    def deliver(body: str) -> int:
        return post_signed(app.test_client(), form(Body=body, From="+12155550199")).status_code

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(deliver, bodies)) == [200] * 4
    assert count(session, InboundMessage) == 4 and count(session, Subscriber) == 1
