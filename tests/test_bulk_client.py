"""The bulk Twilio client's request form: what urlencode would send, with no number kept."""

from __future__ import annotations

from urllib.parse import urlencode

from service.gateway.twilio_async import ENCODED_FIELDS_KEPT, FormHttpClient


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
