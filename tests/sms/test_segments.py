from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.sms.segments import (
    GSM_7,
    UCS_2,
    Segments,
    count_segments,
    estimate_cost,
)

BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
EXTENSION = "\f^{}\\[]~|€"
EMOJI = "\N{RAISED FIST}\U0001f44a"  # one BMP symbol, one outside the BMP


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Segments(GSM_7, 0, 1)),
        ("a" * 160, Segments(GSM_7, 160, 1)),
        ("a" * 161, Segments(GSM_7, 161, 2)),
        ("a" * 306, Segments(GSM_7, 306, 2)),
        ("a" * 307, Segments(GSM_7, 307, 3)),
        ("é" * 70, Segments(GSM_7, 70, 1)),
        ("á" * 70, Segments(UCS_2, 70, 1)),
        ("á" * 71, Segments(UCS_2, 71, 2)),
        ("á" * 134, Segments(UCS_2, 134, 2)),
        ("á" * 135, Segments(UCS_2, 135, 3)),
    ],
)
def test_boundaries(text: str, expected: Segments) -> None:
    assert count_segments(text) == expected


def test_extension_characters_count_two_septets() -> None:
    for char in EXTENSION:
        assert count_segments(char) == Segments(GSM_7, 2, 1)
    assert count_segments("{" * 80) == Segments(GSM_7, 160, 1)
    assert count_segments("{" * 80 + "a") == Segments(GSM_7, 161, 2)


def test_extension_character_is_not_split_across_segments() -> None:
    # 306 septets would fill two parts exactly, but each "€" lands where only
    # one septet is left in its part, so its escape pair moves whole to the next
    # part and the last one needs a third.
    text = "a" * 152 + "€" + "a" * 150 + "€"
    assert count_segments(text) == Segments(GSM_7, 306, 3)
    assert count_segments("a" * 153 + "€" + "a" * 151) == Segments(GSM_7, 306, 2)


def test_emoji_makes_text_ucs2_and_surrogate_pairs_count_two() -> None:
    assert count_segments(EMOJI) == Segments(UCS_2, 3, 1)
    assert count_segments("a" * 159 + "\N{RAISED FIST}") == Segments(UCS_2, 160, 3)
    assert count_segments("\U0001f44a" * 35) == Segments(UCS_2, 70, 1)
    # 66 units then a surrogate pair: the pair moves whole to part two.
    text = "a" * 66 + "\U0001f44a" + "a" * 5
    assert count_segments(text) == Segments(UCS_2, 73, 2)
    text = "a" * 66 + "\U0001f44a" + "a" * 64 + "\U0001f44a"
    assert count_segments(text) == Segments(UCS_2, 134, 3)


def test_extension_characters_cost_one_unit_once_text_is_ucs2() -> None:
    assert count_segments("€á") == Segments(UCS_2, 2, 1)


@pytest.mark.parametrize("char", list("éèùìòÇÑñÜüÄäÖöàÉ¿¡ßÆæØøÅå£¥§ΔΩ"))
def test_accented_letters_in_gsm7(char: str) -> None:
    assert count_segments(f"Marcha {char}").encoding == GSM_7


@pytest.mark.parametrize("char", list("áíóúçÁÍÓÚâêôõãÀ`’“”«»–…\t"))
def test_letters_and_punctuation_not_in_gsm7(char: str) -> None:
    assert count_segments(f"Marcha {char}").encoding == UCS_2


def test_spanish_examples() -> None:
    assert count_segments("¡Mañana a las 5, frente al ayuntamiento!").encoding == GSM_7
    assert count_segments("Acción urgente").encoding == UCS_2
    assert count_segments("Pingüino, niño, ÑANDÚ").encoding == UCS_2  # Ú


def test_estimate_cost() -> None:
    assert estimate_cost(2, 1000) == Decimal("16.6000")
    assert estimate_cost(1, 3, Decimal("0.01")) == Decimal("0.03")
    assert estimate_cost(0, 10) == Decimal(0)
    with pytest.raises(ValueError):
        estimate_cost(-1, 10)
    with pytest.raises(ValueError):
        estimate_cost(1, -10)


basic_text = st.text(alphabet=BASIC, max_size=700)
gsm_text = st.text(alphabet=BASIC + EXTENSION, max_size=700)
any_text = st.text(max_size=400)
non_gsm_char = st.characters(exclude_characters=BASIC + EXTENSION, exclude_categories=("Cs",))


@given(any_text)
def test_count_is_at_least_one_and_units_match_encoding(text: str) -> None:
    result = count_segments(text)
    assert result.count >= 1
    if result.encoding == UCS_2:
        assert result.units == len(text.encode("utf-16-le")) // 2


@given(any_text, st.characters(exclude_categories=("Cs",)), st.data())
def test_adding_a_character_never_lowers_the_count(text: str, char: str, data) -> None:
    position = data.draw(st.integers(0, len(text)))
    longer = text[:position] + char + text[position:]
    assert count_segments(longer).count >= count_segments(text).count


@given(basic_text)
def test_basic_gsm_text_follows_ceil_rules(text: str) -> None:
    result = count_segments(text)
    expected = 1 if len(text) <= 160 else math.ceil(len(text) / 153)
    assert result == Segments(GSM_7, len(text), expected)


@given(gsm_text)
def test_extension_chars_cost_at_most_one_septet_per_part(text: str) -> None:
    result = count_segments(text)
    assert result.encoding == GSM_7
    if result.units > 160:
        # Each part but the last holds at least 152 septets.
        assert math.ceil(result.units / 153) <= result.count <= math.ceil(result.units / 152)


@given(gsm_text, non_gsm_char, st.data())
def test_any_non_gsm_character_makes_text_ucs2(text: str, char: str, data) -> None:
    position = data.draw(st.integers(0, len(text)))
    assert count_segments(text[:position] + char + text[position:]).encoding == UCS_2
