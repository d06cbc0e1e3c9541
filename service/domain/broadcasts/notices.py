"""The texts supporters receive: an organizer's BCAST as typed, or the standard MOVE and
MEET notices, each in every language we speak."""

from __future__ import annotations

LANGUAGES = ("en", "es")

TEMPLATES: dict[str, dict[str, str]] = {
    "bcast": {"en": "{org}: {text}"},
    "move": {
        "en": "{org} URGENT: we moved. Go to: {text}. Tell others. Reply STOP to opt out.",
        "es": "{org} URGENTE: nos movimos. Ve a: {text}. Avisa a otros. ALTO para salir.",
    },
    "meet": {
        "en": "{org} meeting: {text}. Reply RSVP if you are coming. STOP to opt out.",
        "es": "{org} reunión: {text}. Responde RSVP si vienes. ALTO para salir.",
    },
}

# How long a text may wait at the carrier before it is dropped (Twilio ValidityPeriod,
# seconds): a "we moved" notice an hour late sends people to the wrong place.
VALIDITY_SECONDS = {"move": 1_800, "meet": 14_400, "bcast": 14_400}


def compose(kind: str, text: str, org: str) -> tuple[str, dict[str, str]]:
    """The default body and the per-language ones for a notice of `kind`."""
    templates = TEMPLATES[kind]
    bodies = {lang: template.format(org=org, text=text) for lang, template in templates.items()}
    default = bodies.pop("en")
    return default, bodies


def compose_for(kind: str, language: str, text: str, org: str) -> str:
    """The notice of ``kind`` in ``language`` around the organizer's own words in it."""
    templates = TEMPLATES[kind]
    return templates.get(language, templates["en"]).format(org=org, text=text)
