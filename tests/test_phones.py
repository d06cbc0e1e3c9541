"""Phone numbers: E.164 whatever the writing; a clear error otherwise; masks keep two digits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.phones import InvalidPhoneNumber, mask, normalize

line = st.integers(100, 199)  # 555-01xx: the numbers reserved for fiction


@given(area=st.sampled_from([215, 267, 312, 415, 646, 718, 919]), last=line)
def test_every_way_of_writing_a_number_gives_one_e164(area, last):
    e164 = f"+1{area}5550{last}"
    national = f"{area}5550{last}"
    writings = [
        e164,
        national,
        f"1{national}",
        f"({area}) 555-0{last}",
        f"{area}.555.0{last}",
        f"+1 {area} 555 0{last}",
        f" {area}-555-0{last} ",
    ]
    assert {normalize(w) for w in writings} == {e164}


@given(st.text(max_size=40))
def test_anything_either_normalizes_to_e164_or_is_refused_clearly(text):
    try:
        result = normalize(text)
    except InvalidPhoneNumber as exc:
        # The reason is clear and, like a log line, shows at most two digits of the input.
        assert "phone number" in str(exc)
        assert sum(c.isdigit() for c in str(exc)) <= 2
        return
    assert result.startswith("+") and result[1:].isdigit() and 8 <= len(result) <= 16
    assert normalize(result) == result, "normalizing is idempotent"


@pytest.mark.parametrize(
    "bad", ["", "   ", "12", "not a number", "+1 215 555", "9" * 41, "+999 1234"]
)
def test_bad_numbers_are_refused_with_a_reason(bad):
    with pytest.raises(InvalidPhoneNumber, match="phone number"):
        normalize(bad)


def test_other_countries_in_e164():
    assert normalize("+52 55 1234 5678") == "+525512345678"
    assert normalize("+44 20 7946 0958") == "+442079460958"


@given(st.text(max_size=30))
def test_a_mask_never_shows_more_than_two_digits(text):
    assert sum(c.isdigit() for c in mask(text)) <= 2
