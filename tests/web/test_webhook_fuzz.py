"""Fuzz the webhooks with arbitrary form bodies: never a 500, never a half-written state."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.phone import sign

FIELDS = [
    "MessageSid",
    "From",
    "To",
    "Body",
    "AccountSid",
    "MessageStatus",
    "ErrorCode",
    "NumMedia",
]
values = st.one_of(
    st.text(max_size=50),
    st.text(alphabet="+0123456789 ()-", max_size=20),
    st.from_regex(r"SM[0-9a-f]{32}", fullmatch=True),
    st.sampled_from(["JOIN", "STOP", "ZONE 19104", "3A", "delivered", "21610", "+12155550100"]),
)
forms = st.dictionaries(
    st.one_of(st.sampled_from(FIELDS), st.text(max_size=10)), values, max_size=8
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(form=forms, path=st.sampled_from(["/twilio/sms", "/twilio/status"]), signed=st.booleans())
def test_arbitrary_forms_never_500(client, form, path, signed):
    headers = (
        {"X-Twilio-Signature": sign(f"https://rallyline.example.org{path}", form)} if signed else {}
    )
    response = client.post(path, data=form, headers=headers)
    assert response.status_code < 500, (form, response.data)
    if not signed:
        assert response.status_code == 403


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    raw=st.binary(max_size=2000),
    content_type=st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "text/plain",
            "application/json",
            "",
        ]
    ),
)
def test_arbitrary_bytes_never_500(client, raw, content_type):
    response = client.post(
        "/twilio/sms", data=raw, content_type=content_type, headers={"X-Twilio-Signature": "x"}
    )
    assert 400 <= response.status_code < 500
