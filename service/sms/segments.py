"""How many SMS segments a text costs, and what a send to many people costs.

Carriers bill per segment, not per message, so a broadcast's price depends on
its encoding: one character outside GSM-7 (a curly quote, an "á", an emoji)
turns the whole text into UCS-2 and cuts a segment from 160 to 70 characters.
The rules follow Twilio's message segment calculator.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

GSM_7 = "GSM-7"
UCS_2 = "UCS-2"

# A default only: Twilio's US outbound SMS list price per segment. Real prices
# vary by country and sender type and change over time, so callers that show
# money to organizers should pass the price from configuration.
DEFAULT_PRICE_PER_SEGMENT = Decimal("0.0083")

# The GSM 03.38 default alphabet as Twilio maps it from Unicode. ESC (0x1B) is
# left out on purpose: it introduces an extension character and cannot be sent
# as text. Note what is missing: á í ó ú ç (only capital Ç is in the table),
# the backtick, and curly quotes; any of them forces UCS-2.
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Sent as ESC plus a second septet, so each costs two septets.
_GSM_EXTENSION = frozenset("\f^{}\\[]~|€")

# Per-segment capacity: a concatenated message spends part of each segment on
# a user data header (6 octets), which leaves 153 septets or 67 UCS-2 units.
_GSM_SINGLE, _GSM_PART = 160, 153
_UCS2_SINGLE, _UCS2_PART = 70, 67


@dataclass(frozen=True)
class Segments:
    encoding: str  # GSM_7 or UCS_2
    units: int  # GSM-7 septets, or UTF-16 code units for UCS-2
    count: int  # number of SMS segments billed


def is_gsm7(text: str) -> bool:
    """True when every character of `text` can be sent in GSM-7."""
    return all(char in _GSM_BASIC or char in _GSM_EXTENSION for char in text)


def count_segments(text: str) -> Segments:
    """Encoding, size and segment count of `text` as a carrier would bill it."""
    if is_gsm7(text):
        costs = [2 if char in _GSM_EXTENSION else 1 for char in text]
        return _segments(GSM_7, costs, _GSM_SINGLE, _GSM_PART)
    # Characters beyond the BMP take a UTF-16 surrogate pair.
    costs = [2 if ord(char) > 0xFFFF else 1 for char in text]
    return _segments(UCS_2, costs, _UCS2_SINGLE, _UCS2_PART)


def estimate_cost(
    segments: int,
    recipients: int,
    price_per_segment: Decimal = DEFAULT_PRICE_PER_SEGMENT,
) -> Decimal:
    """Price of sending a text of `segments` segments to `recipients` people.

    Left unrounded: carriers bill fractions of a cent per segment, and rounding
    each estimate would drift from the invoice when estimates are summed.
    """
    if segments < 0 or recipients < 0:
        raise ValueError("segments and recipients must not be negative")
    return price_per_segment * segments * recipients


def _segments(encoding: str, costs: list[int], single: int, part: int) -> Segments:
    units = sum(costs)
    if units <= single:
        # Twilio bills an empty body as one segment too.
        return Segments(encoding, units, 1)
    return Segments(encoding, units, _pack(costs, part))


def _pack(costs: list[int], capacity: int) -> int:
    # Greedy, because a two-unit character (GSM escape pair, surrogate pair)
    # cannot straddle two segments: it moves whole to the next one, which can
    # leave a unit unused and make the count exceed ceil(units / capacity).
    parts, used = 1, 0
    for cost in costs:
        if used + cost > capacity:
            parts += 1
            used = 0
        used += cost
    return parts
