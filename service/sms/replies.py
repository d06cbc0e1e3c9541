"""What rallyline answers, in English and Spanish.

Replies follow the carriers' (CTIA) expectations: the program name, how often
people will hear from us, "Msg&data rates may apply", and how to get help and
stop. Every template is formatted with ``org`` (ORG_NAME) and ``contact``.
"""

from __future__ import annotations

from typing import Any

CATALOGUE: dict[str, dict[str, str]] = {
    "joined": {
        "en": "{org}: you joined {list}. Alerts and updates, up to 6 msgs/wk, more in "
        "emergencies. Msg&data rates may apply. Reply HELP for help, STOP to opt out.",
        "es": "{org}: te uniste a {list}. Alertas y noticias, hasta 6 msjs/sem, más en "
        "emergencias. Pueden aplicar tarifas de msj y datos. AYUDA para ayuda, ALTO para salir.",
    },
    "already_joined": {
        "en": "{org}: you are already on {list}. Reply HELP for help, STOP to opt out.",
        "es": "{org}: ya estás en {list}. AYUDA para ayuda, ALTO para salir.",
    },
    "stopped": {
        "en": "{org}: you are unsubscribed and will get no more messages. Reply START to rejoin.",
        "es": "{org}: te diste de baja y no recibirás más mensajes. Responde START para volver.",
    },
    "restarted": {
        "en": "{org}: you are subscribed again. Msg&data rates may apply. Reply HELP for help, "
        "STOP to opt out.",
        "es": "{org}: estás suscrito de nuevo. Pueden aplicar tarifas de msj y datos. AYUDA "
        "para ayuda, ALTO para salir.",
    },
    "help": {
        "en": "{org}: alerts and updates by text. {contact_line}Msg&data rates may apply. "
        "Reply STOP to opt out, ZONE <area> to set your area, FORGET to erase your data.",
        "es": "{org}: alertas y noticias por texto. {contact_line}Pueden aplicar tarifas de "
        "msj y datos. ALTO para salir, ZONA <área> para tu zona, OLVIDAR para borrar tus datos.",
    },
    "contact_line": {
        "en": "Reach a person: {contact}. ",
        "es": "Habla con una persona: {contact}. ",
    },
    "zone_set": {
        "en": "{org}: your area is now {zone}. You will get news for {zone}. "
        "Reply STOP to opt out.",
        "es": "{org}: tu zona ahora es {zone}. Recibirás noticias de {zone}. ALTO para salir.",
    },
    "zone_unknown": {
        "en": '{org}: we don\'t know the area "{given}". Reply ZONE and one of: {known}.',
        "es": '{org}: no conocemos la zona "{given}". Responde ZONA y una de: {known}.',
    },
    "zone_missing": {
        "en": "{org}: reply ZONE and your area or ZIP, e.g. ZONE {example}.",
        "es": "{org}: responde ZONA y tu zona o código postal, p. ej. ZONA {example}.",
    },
    "no_zones": {
        "en": "{org}: areas are not set up yet. You will get every update.",
        "es": "{org}: aún no hay zonas. Recibirás todas las noticias.",
    },
    "language_set": {
        "en": "{org}: you will get messages in English. Reply STOP to opt out.",
        "es": "{org}: recibirás mensajes en español. ALTO para salir.",
    },
    "forgotten": {
        "en": "{org}: we erased your number and messages. We keep only a scrambled mark so "
        "we never text you again. Goodbye.",
        "es": "{org}: borramos tu número y mensajes. Solo guardamos una marca cifrada para no "
        "volver a escribirte. Adiós.",
    },
    "received": {
        "en": "{org}: thanks, an organizer will read your message. Reply HELP for help, "
        "STOP to opt out.",
        "es": "{org}: gracias, un organizador leerá tu mensaje. AYUDA para ayuda, ALTO para salir.",
    },
    "not_subscribed": {
        "en": "{org}: text JOIN to get alerts and updates. Msg&data rates may apply.",
        "es": "{org}: envía UNIRME para recibir alertas y noticias. Pueden aplicar tarifas.",
    },
}


def render(name: str, language: str, **values: Any) -> str:
    templates = CATALOGUE[name]
    return templates.get(language, templates["en"]).format(**values)
