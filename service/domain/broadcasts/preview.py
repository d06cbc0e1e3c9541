"""Preview and confirmation: nothing goes out until the organizer who asked confirms the
one-time code of the preview (how many people, segments, cost) within ten minutes."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.config import Config
from service.domain import zones
from service.domain.broadcasts import audience, notices
from service.domain.broadcasts.errors import Refused
from service.domain.broadcasts.notices import VALIDITY_SECONDS
from service.domain.broadcasts.quiet_hours import next_allowed
from service.errors import NotFound
from service.models import Person, Zone
from service.models.broadcasts import Broadcast
from service.sms.segments import Segments, count_segments, estimate_cost
from service.vault import Vault

CODE_LIFETIME = timedelta(minutes=10)
# After this many wrong codes the organizer's live preview is cancelled: four digits
# are guessable by someone who can make texts appear to come from the organizer.
MAX_WRONG_CODES = 5
MAX_BODY_CHARS = 1600  # Twilio refuses longer bodies (21617)
KINDS = ("bcast", "move", "meet")


@dataclass(frozen=True)
class Preview:
    broadcast: Broadcast
    recipients: int
    segments: Segments  # of the default body; the broadcast row keeps the maximum
    cost: Decimal
    audience: str
    starts_at: datetime  # when it would start if confirmed now


def create(
    session: Session,
    vault: Vault,
    config: Config,
    organizer: Person | None,
    kind: str,
    body: str,
    now: datetime,
    *,
    zone: str | None = None,
    translations: dict[str, str] | None = None,
    urgent: bool = False,
    requested_at: datetime | None = None,
) -> Preview:
    """Record a broadcast awaiting confirmation and say what it would cost."""
    if kind not in KINDS:
        raise Refused("invalid", f"kind must be one of {', '.join(KINDS)}", reason="bad kind")
    translations = {lang: text for lang, text in (translations or {}).items() if text.strip()}
    for text in (body, *translations.values()):
        if not text.strip():
            raise Refused(f"usage_{kind}", "the message is empty")
        if len(text) > MAX_BODY_CHARS:
            reason = f"the message is {len(text)} characters; the limit is {MAX_BODY_CHARS}."
            raise Refused("invalid", reason, reason=reason)
    target = _zone(session, zone) if zone else None
    counts = audience.count_by_language(session, target.id if target else None)
    recipients = sum(counts.values())
    where = f"zone {target.name}" if target else "everyone"
    if recipients == 0:
        raise Refused("nobody", f"{where} has no opted-in subscribers", audience=where)

    default_segments = count_segments(body)
    per_language = {lang: count_segments(text) for lang, text in translations.items()}
    billed = sum(
        count * per_language.get(lang, default_segments).count for lang, count in counts.items()
    )
    cost = estimate_cost(billed, 1, config.price_per_segment)
    urgent = urgent or kind == "move"

    # One live preview per organizer: a new one replaces the last.
    if organizer is not None:
        session.execute(
            update(Broadcast)
            .where(Broadcast.organizer_id == organizer.id, Broadcast.state == "preview")
            .values(state="cancelled", updated_at=now)
        )
    broadcast = Broadcast(
        organizer_id=organizer.id if organizer else None,
        kind=kind,
        state="preview",
        zone_id=target.id if target else None,
        body_enc=vault.encrypt(body),
        translations_enc=vault.encrypt(json.dumps(translations)) if translations else None,
        urgent=urgent,
        validity_period=VALIDITY_SECONDS[kind],
        code=f"{secrets.randbelow(9000) + 1000}",
        code_expires_at=now + CODE_LIFETIME,
        recipients_estimate=recipients,
        segments=max([default_segments.count, *(s.count for s in per_language.values())]),
        cost_estimate=cost,
        requested_at=requested_at,
        created_at=now,
        updated_at=now,
    )
    session.add(broadcast)
    session.flush()
    return Preview(
        broadcast, recipients, default_segments, cost, where, start_time(broadcast, config, now)
    )


def create_notice(
    session: Session,
    vault: Vault,
    config: Config,
    organizer: Person | None,
    kind: str,
    text: str,
    now: datetime,
    *,
    zone: str | None = None,
    urgent: bool = False,
    texts: dict[str, str] | None = None,
    requested_at: datetime | None = None,
) -> Preview:
    """A notice of ``kind`` from what the organizer typed, by text (BCAST, MOVE, MEET) or by
    API: the standard wording in every language, then the preview. ``texts`` gives the
    organizer's own words for other languages (the API's per-language bodies)."""
    if kind not in KINDS:
        raise Refused("invalid", f"kind must be one of {', '.join(KINDS)}", reason="bad kind")
    default, translations = notices.compose(kind, text, config.org_name)
    for language, own in (texts or {}).items():
        translations[language] = notices.compose_for(kind, language, own, config.org_name)
    return create(
        session,
        vault,
        config,
        organizer,
        kind,
        default,
        now,
        zone=zone,
        translations=translations,
        urgent=urgent,
        requested_at=requested_at,
    )


def confirm(
    session: Session, organizer: Person, code: str, config: Config, now: datetime
) -> Broadcast:
    """SEND <code>: schedule the organizer's previewed broadcast, once."""
    code = code.strip().lstrip("#")
    if not code:
        raise Refused("send_usage", "a code is required")
    broadcast = session.scalar(
        select(Broadcast)
        .where(Broadcast.organizer_id == organizer.id, Broadcast.code == code)
        .order_by(Broadcast.id.desc())
        .limit(1)
    )
    if broadcast is None:
        _count_wrong_code(session, organizer, now)
    assert broadcast is not None
    return _confirm(session, broadcast, config, now, code)


def confirm_by_id(session: Session, broadcast_id: int, config: Config, now: datetime) -> Broadcast:
    """The API's SEND: the bearer token stands in for the one-time code."""
    broadcast = session.get(Broadcast, broadcast_id)
    if broadcast is None:
        raise NotFound(f"no broadcast #{broadcast_id}")
    return _confirm(session, broadcast, config, now, broadcast.code or "")


def _confirm(
    session: Session, broadcast: Broadcast, config: Config, now: datetime, code: str
) -> Broadcast:
    if broadcast.state == "cancelled":
        raise Refused("send_superseded", "that preview was replaced or cancelled", id=broadcast.id)
    if broadcast.state != "preview":
        raise Refused("send_already", "already confirmed", id=broadcast.id)
    if broadcast.code_expires_at is None or broadcast.code_expires_at < now:
        broadcast.state = "cancelled"
        raise Refused("send_expired", "the code expired", code=code)
    return schedule(session, broadcast, config, now)


def schedule(session: Session, broadcast: Broadcast, config: Config, now: datetime) -> Broadcast:
    """preview -> scheduled, exactly once even if two confirmations race."""
    starts = start_time(broadcast, config, now)
    moved = session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast.id, Broadcast.state == "preview")
        .values(state="scheduled", confirmed_at=now, send_at=starts, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not moved:
        raise Refused("send_already", "already confirmed", id=broadcast.id)
    session.refresh(broadcast)
    return broadcast


def start_time(broadcast: Broadcast, config: Config, now: datetime) -> datetime:
    wanted = max(broadcast.requested_at or now, now)
    if broadcast.urgent:
        return wanted
    return next_allowed(wanted, config.quiet_hours, config.timezone)


def bodies(vault: Vault, broadcast: Broadcast) -> tuple[str, dict[str, str]]:
    """The default body and the per-language ones."""
    default = vault.decrypt(broadcast.body_enc)
    if not broadcast.translations_enc:
        return default, {}
    return default, json.loads(vault.decrypt(broadcast.translations_enc) or "{}")


def _zone(session: Session, given: str) -> Zone:
    found = zones.resolve(session, given)
    if found is None:
        known = ", ".join(zones.names(session)[:12]) or "none yet"
        raise Refused("zone_unknown", f"there is no zone {given}", zone=given[:30], known=known)
    return found


def _count_wrong_code(session: Session, organizer: Person, now: datetime) -> None:
    live = session.scalar(
        select(Broadcast)
        .where(Broadcast.organizer_id == organizer.id, Broadcast.state == "preview")
        .order_by(Broadcast.id.desc())
        .limit(1)
    )
    if live is not None:
        live.wrong_codes += 1
        if live.wrong_codes >= MAX_WRONG_CODES:
            live.state = "cancelled"
            live.updated_at = now
            raise Refused("send_locked", "too many wrong codes", id=live.id)
    raise Refused("send_wrong", "the code matches no preview")
