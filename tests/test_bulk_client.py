"""The bulk Twilio client: its request is the one twilio-python's typed call sends, its form
what urlencode would send with no number kept, its errors classified as the typed call's."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

import pytest
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from service.gateway.base import SendError
from service.gateway.twilio_async import ENCODED_FIELDS_KEPT, AsyncTwilioGateway, FormHttpClient

BODY = "Marcha al mediodía & más: 100% (¡ya!)"


def test_the_form_is_what_urlencode_sends_and_no_number_is_kept() -> None:
    client = FormHttpClient()
    for number in ("+12155550100", "+12155550101", "+12155550100"):
        data = {
            "To": number,
            "From": "+15005550006",
            "Body": "Marcha al mediodía & más: 100% (¡ya!)",
            "ValidityPeriod": 14400,
            "MediaUrl": ["https://example.org/1.jpg", "https://example.org/2.jpg"],
        }
        assert client._form(data) == urlencode(data, doseq=True)
    assert "215555010" not in repr(client._encoded)


def test_the_fields_kept_stay_bounded() -> None:
    client = FormHttpClient()
    for n in range(3 * ENCODED_FIELDS_KEPT):
        assert client._form({"Body": f"text {n}"}) == f"Body=text+{n}"
    assert 0 < len(client._encoded) <= ENCODED_FIELDS_KEPT


@pytest.mark.parametrize(
    "sender",
    [{"from_number": "+15005550006"}, {"messaging_service_sid": "MG" + "0" * 32}],
    ids=["from a number", "from a messaging service"],
)
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the stock client's aiohttp auth
def test_the_bulk_gateway_posts_what_twilio_pythons_typed_call_posts(fake_twilio, sender) -> None:  # type: ignore[no-untyped-def]
    """The bulk gateway skips messages.create_async's MessageInstance: the request must
    stay the one the typed call makes, field for field."""
    callback = "https://rallyline.example/twilio/status"
    typed_options = {
        "from_": sender.get("from_number"),
        "messaging_service_sid": sender.get("messaging_service_sid"),
    }
    typed_options = {key: value for key, value in typed_options.items() if value}

    async def both() -> tuple[str, str]:
        bulk = AsyncTwilioGateway(
            fake_twilio.account_sid,
            fake_twilio.auth_token,
            status_callback=callback,
            api_base_url=fake_twilio.url,
            **sender,
        )
        stock = Client(
            fake_twilio.account_sid, fake_twilio.auth_token, http_client=AsyncTwilioHttpClient()
        )
        stock.api.base_url = fake_twilio.url
        try:
            ours = await bulk.send("+12155550100", BODY, validity_period=14400)
            theirs = await stock.messages.create_async(
                to="+12155550101",
                body=BODY,
                status_callback=callback,
                validity_period=14400,
                **typed_options,
            )
        finally:
            await bulk.close()
            await stock.http_client.session.close()
        return ours, str(theirs.sid)

    ours, theirs = asyncio.run(both())
    sent = {message["sid"]: message["params"] for message in fake_twilio.messages()}
    assert ours.startswith("SM")
    assert sent[ours].pop("To") == "+12155550100"
    assert sent[theirs].pop("To") == "+12155550101"
    assert sent[ours] == sent[theirs]
    assert sent[ours]["ValidityPeriod"] == "14400"


@pytest.mark.parametrize(
    ("faults", "expected"),
    [
        ({"errors_for_numbers": {"+12155550100": 21610}}, (21610, False)),
        ({"every_nth_429": 1}, (20429, True)),
        ({"error_500_every_nth": 1}, (20500, True)),
    ],
    ids=["21610", "429", "500"],
)
def test_the_bulk_gateway_classifies_twilios_errors(fake_twilio, faults, expected) -> None:  # type: ignore[no-untyped-def]
    fake_twilio.set_faults(**faults)

    async def send() -> SendError:
        gateway = AsyncTwilioGateway(
            fake_twilio.account_sid,
            fake_twilio.auth_token,
            from_number="+15005550006",
            api_base_url=fake_twilio.url,
        )
        try:
            await gateway.send("+12155550100", BODY)
        except SendError as error:
            return error
        finally:
            await gateway.close()
        raise AssertionError("sent despite the fault")

    error = asyncio.run(send())
    assert (error.code, error.retryable, error.ambiguous) == (*expected, False)


def test_an_answer_without_a_sid_is_ambiguous_not_a_sent_text() -> None:
    """Twilio took it (201) but named no message: it may have gone, and no status
    callback could be matched to it, so it is neither sent nor tried again."""

    class AcceptsWithoutSid(FormHttpClient):
        async def request(self, *args: object, **kwargs: object) -> Response:  # type: ignore[override]
            return Response(201, "{}", {})

    async def send() -> SendError:
        gateway = AsyncTwilioGateway("AC" + "0" * 32, "token", from_number="+15005550006")
        gateway.client.http_client = AcceptsWithoutSid()
        try:
            await gateway.send("+12155550100", BODY)
        except SendError as error:
            return error
        raise AssertionError("recorded as sent")

    error = asyncio.run(send())
    assert error.ambiguous and not error.retryable
