"""What a text means: one parse for every inbound SMS.

Case, spacing, punctuation and accents are forgiven. The parser knows words,
not people: whether the sender may use an organizer command is decided by the
dispatcher, which treats an unregistered sender's BCAST like any other text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

OPT_OUT = frozenset(
    {
        "STOP",
        "STOPALL",
        "UNSUBSCRIBE",
        "CANCEL",
        "END",
        "QUIT",
        "REVOKE",
        "OPTOUT",
        "ALTO",
        "PARAR",
        "BAJA",
        "CANCELAR",
    }
)
# Words that mean "stop" even with a few words around them ("stop texting me").
# CANCEL, END and QUIT stay exact: "end of the march" is not an opt-out.
STRONG_OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "OPTOUT", "ALTO"})
OPT_IN = frozenset({"START", "UNSTOP", "YES"})
HELP = frozenset({"HELP", "INFO", "AYUDA"})
JOIN = {"JOIN": "en", "UNIRME": "es"}
ZONE = {"ZONE": "en", "ZONA": "es"}
REPORT = {"REPORT": "en", "REPORTAR": "es"}
FORGET = {"FORGET": "en", "OLVIDAR": "es"}
LANGUAGE = {"ENGLISH": "en", "ESPANOL": "es"}
SPANISH_WORDS = frozenset({"ALTO", "PARAR", "BAJA", "CANCELAR", "AYUDA"})

# Organizer, dispatcher and responder words; none starts with a carrier keyword.
STAFF_WORDS = frozenset(
    {"BCAST", "MOVE", "MEET", "SEND", "ABORT", "STATUS", "ALERT", "ONCALL", "OFFCALL"}
)

_COMMAND_WORDS = STAFF_WORDS | set(ZONE) | set(REPORT) | {"RSVP"}

_REPLY_CODE = re.compile(r"(\d{1,3})?\s*([ACE])")
_ZONE_TARGET = re.compile(r"@(\S+)\s*(.*)", re.DOTALL)


@dataclass(frozen=True)
class Command:
    name: str
    """join, stop, start, help, zone, rsvp, report, language, forget, other,
    bcast, move, meet, send, abort, status, alert, reply_code, oncall, offcall"""
    word: str = ""  # the keyword as matched, upper-case without accents
    arg: str = ""  # the rest of the text, as typed
    language: str | None = None  # the language the word implies, if any
    zone: str | None = None  # @zone of BCAST / ALERT
    number: int | None = None  # n of a reply code "3A"
    action: str | None = None  # A, C or E of a reply code


def fold(text: str) -> str:
    """Upper-case, accents removed, whitespace collapsed: the form keywords are compared in."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.upper().split())


def _word(token: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", token)


def parse(body: str, is_campaign_keyword: Callable[[str], bool] = lambda word: False) -> Command:
    """What ``body`` means. ``is_campaign_keyword`` is asked only about a lone unknown word,
    so the common texts never cost a keyword lookup."""
    folded = fold(body)
    tokens = folded.split(" ") if folded else []
    words = [w for w in (_word(t) for t in tokens) if w]
    if not words:
        return Command("other")
    first = words[0]
    rest = _rest_after_first_word(body)

    whole = "".join(words)
    if whole in OPT_OUT:
        return Command("stop", whole, language="es" if whole in SPANISH_WORDS else None)
    strong = [w for w in words if w in STRONG_OPT_OUT]
    if strong and len(words) <= 4 and first not in _COMMAND_WORDS:
        return Command("stop", strong[0], language="es" if strong[0] in SPANISH_WORDS else None)
    if len(words) == 1 and first in OPT_IN:
        return Command("start", first)
    if len(words) == 1 and first in HELP:
        return Command("help", first, language="es" if first in SPANISH_WORDS else None)

    code = _REPLY_CODE.fullmatch(re.sub(r"[^0-9A-Z ]", "", folded).strip())
    if code and (code.group(1) or code.group(2) == "A"):
        number = int(code.group(1)) if code.group(1) else None
        return Command("reply_code", code.group(2), number=number, action=code.group(2))

    if first in JOIN and len(words) == 1:
        return Command("join", first, language=JOIN[first])
    if first in ZONE:
        return Command("zone", first, arg=rest, language=ZONE[first])
    if first == "RSVP":
        return Command("rsvp", first, arg=rest)
    if first in REPORT:
        return Command("report", first, arg=rest, language=REPORT[first])
    if first in FORGET and len(words) == 1:
        return Command("forget", first, language=FORGET[first])
    if first in LANGUAGE and len(words) == 1:
        return Command("language", first, language=LANGUAGE[first])
    if first in STAFF_WORDS:
        return _staff(first, rest)
    if len(words) == 1 and is_campaign_keyword(first):
        return Command("join", first)
    return Command("other", first, arg=body.strip())


def _staff(first: str, rest: str) -> Command:
    name = first.lower()
    if first in {"BCAST", "ALERT"}:
        target = _ZONE_TARGET.fullmatch(rest)
        if target:
            return Command(name, first, arg=target.group(2).strip(), zone=target.group(1))
    return Command(name, first, arg=rest)


def _rest_after_first_word(body: str) -> str:
    parts = body.strip().split(None, 1)
    return parts[1].strip() if len(parts) > 1 else ""
