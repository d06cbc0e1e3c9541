"""What the broadcast commands answer. Organizers read English; supporters their language."""

from __future__ import annotations

from typing import Any

CATALOGUE: dict[str, dict[str, str]] = {
    "preview": {
        "en": "{org} preview #{id}: {kind} to {audience}, {count} people. {segments} segment(s) "
        'each ({encoding}), about ${cost}. {when}It reads: "{excerpt}" '
        "Reply SEND {code} within 10 min to send it.",
    },
    "nobody": {
        "en": "{org}: nobody would get this: {audience} has no opted-in subscribers. "
        "Nothing was queued.",
    },
    "usage_bcast": {"en": "{org}: BCAST needs a message: BCAST [@zone] [URGENT] <message>."},
    "usage_move": {"en": "{org}: MOVE needs the new place: MOVE <where>."},
    "usage_meet": {"en": "{org}: MEET needs the details: MEET <when, where, what>."},
    "invalid": {"en": "{org}: {reason}"},
    "zone_unknown": {"en": "{org}: there is no zone {zone}. Zones: {known}."},
    "send_usage": {"en": "{org}: reply SEND and the code from your preview, e.g. SEND 4821."},
    "send_wrong": {
        "en": "{org}: that code matches none of your previews. Nothing was sent.",
    },
    "send_locked": {
        "en": "{org}: too many wrong codes; preview #{id} is cancelled. Nothing was sent. "
        "Text it again for a new preview.",
    },
    "send_expired": {
        "en": "{org}: code {code} expired (codes hold 10 minutes). Nothing was sent. "
        "Text it again for a new preview.",
    },
    "send_superseded": {
        "en": "{org}: preview #{id} was replaced by a newer one or cancelled. Nothing was sent.",
    },
    "send_already": {
        "en": "{org}: broadcast #{id} was already confirmed; nothing more is sent. "
        "Text STATUS for progress.",
    },
    "sending": {
        "en": "{org}: sending #{id} to about {count} people now. STATUS for progress, "
        "ABORT to stop it.",
    },
    "scheduled": {
        "en": "{org}: #{id} will go out at {at} ({why}). ABORT to cancel it.",
    },
    "abort_none": {"en": "{org}: no broadcast is in flight. Nothing to stop."},
    "abort_unknown": {"en": "{org}: there is no broadcast #{id} in flight."},
    "aborted": {
        "en": "{org}: #{id} stopped. {sent} went out before the stop; the rest will not be sent.",
    },
    "status_none": {"en": "{org}: no broadcast has been sent yet."},
    "status": {
        "en": "{org} #{id} {kind} {state}: {queued} queued, {sent} sent, {delivered} delivered, "
        "{failed} failed{extra}.",
    },
    "rsvp_counted": {
        "en": "{org}: your RSVP is counted. See you there! Reply STOP to opt out.",
        "es": "{org}: contamos tu RSVP. ¡Nos vemos allí! ALTO para salir.",
    },
    "rsvp_again": {
        "en": "{org}: you already RSVP'd. See you there!",
        "es": "{org}: ya respondiste RSVP. ¡Nos vemos allí!",
    },
    "rsvp_nothing": {
        "en": "{org}: there is no meeting to RSVP to right now.",
        "es": "{org}: ahora no hay ninguna reunión a la que responder.",
    },
}


def render(name: str, language: str = "en", **values: Any) -> str:
    templates = CATALOGUE[name]
    return templates.get(language, templates["en"]).format(**values)
