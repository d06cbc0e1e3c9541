"""What an API caller can change, each through the same domain function its SMS command
or CLI command calls, and each written to the audit log.

Every function takes a session, plain values and the acting ``Actor``; follow-up
work (texts to send, a broadcast to start) is appended to ``effects`` for the
caller to put in the outbox with the transaction.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.config import Config
from service.domain import audit, keywords, listings, people, tokens, zones
from service.domain.alerts import escalation, responses
from service.domain.alerts.sms import send_effects
from service.domain.audit import Actor
from service.domain.broadcasts import control, preview
from service.domain.broadcasts.sms import QUEUE as BROADCAST_QUEUE
from service.domain.context import Effect
from service.errors import Conflict, InvalidInput, NotFound
from service.models import Alert, Keyword, Person, Zone
from service.models.api import IdempotencyKey
from service.vault import Vault

# --- broadcasts ---------------------------------------------------------------------------------


def request_hash(payload: dict[str, Any]) -> str:
    """A fingerprint of a request body, the same whatever order its keys came in."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def create_broadcast(
    session: Session,
    vault: Vault,
    config: Config,
    actor: Actor,
    request: dict[str, Any],
    now: datetime,
    *,
    idempotency_key: str | None = None,
) -> tuple[listings.BroadcastView, bool]:
    """A broadcast preview, as BCAST / MOVE / MEET make it; (view, True) when the same
    Idempotency-Key and body were seen before (nothing new is created)."""
    fingerprint = request_hash(request)
    if idempotency_key is not None and actor.kind == "token":
        seen = session.scalar(
            select(IdempotencyKey).where(
                IdempotencyKey.token_id == actor.id, IdempotencyKey.key == idempotency_key
            )
        )
        if seen is not None:
            if seen.request_hash != fingerprint:
                raise InvalidInput("this Idempotency-Key was already used with another body")
            return listings.broadcast(session, vault, seen.broadcast_id), True
    organizer = session.get(Person, actor.person_id) if actor.person_id else None
    made = preview.create_notice(
        session,
        vault,
        config,
        organizer,
        request["kind"],
        request["message"],
        now,
        zone=request.get("zone"),
        urgent=request.get("urgent", False),
        texts=request.get("translations"),
        requested_at=request.get("send_at"),
    )
    if idempotency_key is not None and actor.kind == "token":
        # A concurrent request with the same key fails here on the unique (token, key).
        session.add(
            IdempotencyKey(
                token_id=actor.id,
                key=idempotency_key,
                request_hash=fingerprint,
                broadcast_id=made.broadcast.id,
                created_at=now,
            )
        )
        session.flush()
    audit.record(
        session,
        actor,
        f"broadcast.{made.broadcast.kind}",
        now,
        target=f"broadcast:{made.broadcast.id}",
        recipients=made.recipients,
    )
    return listings.broadcast(session, vault, made.broadcast.id), False


def confirm_broadcast(
    session: Session,
    vault: Vault,
    config: Config,
    actor: Actor,
    broadcast_id: int,
    now: datetime,
    effects: list[Effect],
) -> listings.BroadcastView:
    """SEND: schedule the previewed broadcast and hand it to the broadcast workers."""
    confirmed = preview.confirm_by_id(session, broadcast_id, config, now)
    effects.append(
        Effect(
            BROADCAST_QUEUE,
            "workers.broadcasts.advance",
            (confirmed.id,),
            job_id=f"broadcast-{confirmed.id}-advance",
        )
    )
    audit.record(
        session,
        actor,
        "broadcast.confirm",
        now,
        target=f"broadcast:{confirmed.id}",
        recipients=confirmed.recipients_estimate,
    )
    return listings.broadcast(session, vault, confirmed.id)


def abort_broadcast(
    session: Session, vault: Vault, actor: Actor, broadcast_id: int, now: datetime
) -> listings.BroadcastView:
    """ABORT: nothing more of the broadcast goes out."""
    result = control.abort(session, now, broadcast_id)
    audit.record(
        session,
        actor,
        "broadcast.abort",
        now,
        target=f"broadcast:{broadcast_id}",
        recipients=result.sent,
        detail=f"{result.sent} sent before the stop",
    )
    return listings.broadcast(session, vault, broadcast_id)


# --- alerts -------------------------------------------------------------------------------------


def open_alert(
    session: Session,
    vault: Vault,
    config: Config,
    actor: Actor,
    message: str,
    zone: str | None,
    now: datetime,
    effects: list[Effect],
) -> listings.AlertView:
    """ALERT: page the on-call responders (of the zone), tier by tier."""
    zone_id = None
    if zone:
        found = zones.resolve(session, zone)
        if found is None:
            raise InvalidInput(f"there is no zone {zone}")
        zone_id = found.id
    if not escalation.has_anyone_on_call(session, "responder", zone_id):
        raise Conflict("no responder is on call" + (f" in zone {zone}" if zone else ""))
    opener = session.get(Person, actor.person_id) if actor.person_id else None
    opened, step = escalation.open_alert(
        session,
        vault,
        config,
        kind="alert",
        message=message,
        now=now,
        zone_id=zone_id,
        opened_by=opener,
    )
    effects.extend(send_effects(step.message_ids))
    audit.record(
        session, actor, "alert.open", now, target=f"alert:{opened.id}", recipients=len(step.paged)
    )
    return listings.alert(session, vault, opened.id)


def acknowledge_alert(
    session: Session,
    vault: Vault,
    config: Config,
    actor: Actor,
    alert_id: int,
    person_id: int | None,
    now: datetime,
    effects: list[Effect],
) -> listings.AlertView:
    """<n>A on someone's behalf: stops the escalation; the first acknowledgement wins."""
    found = _alert(session, alert_id)
    who = person_id or actor.person_id
    if who is None:
        raise InvalidInput(
            "say who acknowledges: person_id, or a token created for a person (--person)"
        )
    person = session.get(Person, who)
    if person is None:
        raise InvalidInput(f"there is no person #{who}")
    if found.status == "closed":
        raise Conflict(f"alert #{alert_id} is closed")
    answer = responses.acknowledge(
        session, vault, config, person, responses.Target(found, found.id), now
    )
    if found.acked_by_id != person.id:
        raise Conflict(f"alert #{alert_id} was already acknowledged by someone else")
    effects.extend(send_effects(answer.message_ids))
    audit.record(
        session,
        actor,
        "alert.acknowledge",
        now,
        target=f"alert:{alert_id}",
        recipients=len(answer.message_ids),
        detail=f"for person #{person.id}",
    )
    return listings.alert(session, vault, alert_id)


def close_alert(
    session: Session,
    vault: Vault,
    config: Config,
    actor: Actor,
    alert_id: int,
    now: datetime,
    effects: list[Effect],
) -> listings.AlertView:
    """<n>C (or `rallyline alerts close`): stops escalation and tells a reporter."""
    found = _alert(session, alert_id)
    if found.status == "closed":
        raise Conflict(f"alert #{alert_id} is already closed")
    closer = session.get(Person, actor.person_id) if actor.person_id else None
    answer = responses.close(session, vault, config, closer, responses.Target(found, found.id), now)
    effects.extend(send_effects(answer.message_ids))
    audit.record(
        session,
        actor,
        "alert.close",
        now,
        target=f"alert:{alert_id}",
        recipients=len(answer.message_ids),
    )
    return listings.alert(session, vault, alert_id)


def _alert(session: Session, alert_id: int) -> Alert:
    found = session.get(Alert, alert_id, populate_existing=True)
    if found is None:
        raise NotFound(f"no alert #{alert_id}")
    return found


# --- people, zones, keywords, tokens (admin) ----------------------------------------------------


def register_person(
    session: Session,
    vault: Vault,
    actor: Actor,
    phone: str,
    role: str,
    name: str,
    tier: int,
    now: datetime,
) -> listings.PersonView:
    person = people.register(session, vault, phone, role, name=name, tier=tier)
    audit.record(session, actor, "person.register", now, target=f"person:{person.id}")
    return listings.person_view(session, person)


def update_person(
    session: Session, actor: Actor, person_id: int, changes: dict[str, Any], now: datetime
) -> listings.PersonView:
    """Role, name, tier, on call, zone: what `people add` and ONCALL/OFFCALL/ONCALL <zone> set."""
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"no person #{person_id}")
    if "zone" in changes:
        given = changes.pop("zone")
        zone = zones.resolve(session, given) if given else None
        if given and zone is None:
            raise InvalidInput(f"there is no zone {given}")
        person.zone_id = zone.id if zone else None
    for field_name in ("role", "name", "tier", "on_call"):
        if field_name in changes:
            setattr(person, field_name, changes[field_name])
    session.flush()
    described = ", ".join(f"{k}" for k in sorted(changes)) or "zone"
    audit.record(
        session, actor, "person.update", now, target=f"person:{person.id}", detail=described
    )
    return listings.person_view(session, person)


def add_zone(
    session: Session, actor: Actor, name: str, zips: list[str], now: datetime
) -> listings.ZoneView:
    zone: Zone = zones.add_zone(session, name, zips)
    audit.record(session, actor, "zone.add", now, target=f"zone:{zone.id}", detail=zone.name)
    return listings.zone_view(session, zone)


def add_keyword(
    session: Session, actor: Actor, word: str, list_name: str, language: str, now: datetime
) -> listings.KeywordView:
    added: Keyword = keywords.add_keyword(session, word, list_name, language)
    audit.record(session, actor, "keyword.add", now, detail=f"{added.word} -> {list_name}")
    return listings.keyword_view(session, added)


def create_token(
    session: Session,
    actor: Actor,
    role: str,
    name: str,
    person_id: int | None,
    now: datetime,
) -> tokens.NewToken:
    made = tokens.create(session, role, now, name=name, person_id=person_id)
    audit.record(session, actor, "token.create", now, target=f"token:{made.token.id}", detail=role)
    return made


def revoke_token(session: Session, actor: Actor, token_id: int, now: datetime) -> None:
    tokens.revoke(session, token_id, now)
    audit.record(session, actor, "token.revoke", now, target=f"token:{token_id}")
