"""What rapid response texts say.

Staff texts (pages, acknowledgements) are in English; what a reporter reads
follows the language they wrote in. Nothing here ever carries a phone number:
people are named by the name they were registered with.
"""

from __future__ import annotations

from typing import Any

CATALOGUE: dict[str, dict[str, str]] = {
    # --- pages and notices (sent as texts) ---------------------------------------
    "page": {
        "en": "{org} {label}{zone}: {message}\nReply {n}A to acknowledge, {n}C to close, "
        "{n}E to escalate.",
    },
    "responding": {"en": "{org}: {name} is responding to {ref}: {snippet}"},
    "closed_notice": {"en": "{org}: {ref} was closed by {name}: {snippet}"},
    "unanswered": {
        "en": "{org}: alert #{id} went UNANSWERED ({why}). Reach responders another way: {snippet}",
    },
    "report_closed": {
        "en": "{org}: responders are on it. Thank you for your report.",
        "es": "{org}: hay personas respondiendo. Gracias por tu reporte.",
    },
    # --- replies to the person texting ---------------------------------------------
    "alert_opened": {
        "en": "{org}: alert #{id} opened. Paging {count} tier-{tier} responder(s){zone}. "
        "You will be told who responds.",
    },
    "alert_nobody": {
        "en": "{org}: no responder is on call{zone}, so nobody was paged. "
        "Reach people another way.",
    },
    "alert_empty": {
        "en": "{org}: reply ALERT and what is happening, e.g. "
        "ALERT @NORTH ICE van at 5th and Main.",
    },
    "alert_zone_unknown": {"en": '{org}: no zone "{given}". Zones: {known}.'},
    "report_received": {
        "en": "{org}: thank you, your report went to our on-call team. We will text you when "
        "responders are on it.",
        "es": "{org}: gracias, tu reporte llegó a nuestro equipo de guardia. Te escribiremos "
        "cuando haya personas respondiendo.",
    },
    "report_limited": {
        "en": "{org}: we already have your report from a few minutes ago. One report every "
        "{minutes} minutes; you can send another in {wait} min.",
        "es": "{org}: ya tenemos tu reporte de hace unos minutos. Un reporte cada {minutes} "
        "minutos; puedes enviar otro en {wait} min.",
    },
    "report_empty": {
        "en": "{org}: reply REPORT and what is happening and where, e.g. REPORT ICE van at "
        "5th and Main.",
        "es": "{org}: responde REPORTAR y qué pasa y dónde, p. ej. REPORTAR camioneta de ICE "
        "en 5th y Main.",
    },
    "acked": {"en": "{org}: you are responding to alert {n}. Reply {n}C to close it when done."},
    "already_acked": {"en": "{org}: alert {n} was already acknowledged by {name}."},
    "already_acked_you": {
        "en": "{org}: you already acknowledged alert {n}. Reply {n}C to close it."
    },
    "closed": {"en": "{org}: alert {n} is closed. Thank you."},
    "already_closed": {"en": "{org}: alert {n} is already closed."},
    "escalated": {"en": "{org}: alert {n} is escalating: tier {tier} is being paged."},
    "escalate_exhausted": {
        "en": "{org}: alert {n}: no more tiers to page. Organizers have been told."
    },
    "escalate_raced": {"en": "{org}: alert {n} just changed; it is escalating already."},
    "escalate_unanswered": {
        "en": "{org}: alert {n} already went unanswered and organizers were told. "
        "Reply {n}A to take it."
    },
    "no_such_code": {"en": "{org}: you have no alert {n}. {open_list}"},
    "open_list": {"en": "Your open alerts: {codes}."},
    "no_open": {"en": "You have no open alerts."},
    "nothing_to_ack": {"en": "{org}: you have no alert to acknowledge."},
    "oncall": {
        "en": "{org}: you are ON CALL (tier {tier}{zone}). You will be paged. Text OFFCALL to stop."
    },
    "offcall": {"en": "{org}: you are OFF CALL and will not be paged. Text ONCALL to return."},
}


def render(template: str, language: str = "en", /, **values: Any) -> str:
    templates = CATALOGUE[template]
    return templates.get(language, templates["en"]).format(**values)


def snippet(message: str, limit: int = 80) -> str:
    """The start of an alert's message, to remind people which one a notice is about."""
    flat = " ".join(message.split())
    return flat if len(flat) <= limit else flat[: limit - 3].rstrip() + "..."
