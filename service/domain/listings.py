"""What the API lists and shows: broadcasts with their progress, meetings and RSVPs,
alerts and their timelines, people, zones, lists and keywords, tokens, the audit log.

Every list is a keyset page (service.domain.pagination). Views carry what a
response needs, read in a few queries per page rather than one per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.domain.alerts import paging
from service.domain.broadcasts import preview
from service.domain.pagination import Page, page
from service.errors import NotFound
from service.models import (
    Alert,
    AlertEvent,
    CampaignList,
    Keyword,
    Membership,
    OutboundMessage,
    Person,
    Zone,
    ZoneZip,
)
from service.models.api import ApiToken, AuditEntry
from service.models.broadcasts import Broadcast, Rsvp
from service.sms.segments import count_segments
from service.vault import Vault

# --- broadcasts and meetings ------------------------------------------------------------------


@dataclass(frozen=True)
class BroadcastView:
    id: int
    kind: str
    state: str
    zone: str | None
    urgent: bool
    body: str
    translations: dict[str, str]
    recipients: int
    segments: int
    encoding: str
    cost: Decimal
    requested_at: datetime | None
    send_at: datetime | None
    created_at: datetime
    confirmed_at: datetime | None
    aborted_at: datetime | None
    finished_at: datetime | None
    counts: dict[str, int]
    rsvps: int | None


def broadcast(session: Session, vault: Vault, broadcast_id: int) -> BroadcastView:
    found = session.get(Broadcast, broadcast_id)
    if found is None:
        raise NotFound(f"no broadcast #{broadcast_id}")
    return _broadcast_views(session, vault, [found])[0]


def broadcasts(
    session: Session,
    vault: Vault,
    cursor: str | None,
    limit: int,
    *,
    kind: str | None = None,
    state: str | None = None,
) -> Page[BroadcastView]:
    query = select(Broadcast)
    if kind:
        query = query.where(Broadcast.kind == kind)
    if state:
        query = query.where(Broadcast.state == state)
    rows = page(session, query, Broadcast.id, cursor, limit, newest_first=True)
    return Page(_broadcast_views(session, vault, list(rows.items)), rows.next_cursor)


def _broadcast_views(session: Session, vault: Vault, rows: list[Broadcast]) -> list[BroadcastView]:
    ids = [b.id for b in rows]
    counts: dict[int, dict[str, int]] = {i: {} for i in ids}
    for broadcast_id, status, n in session.execute(
        select(OutboundMessage.broadcast_id, OutboundMessage.status, func.count())
        .where(OutboundMessage.broadcast_id.in_(ids))
        .group_by(OutboundMessage.broadcast_id, OutboundMessage.status)
    ):
        counts[broadcast_id][status] = n
    rsvps = dict(
        session.execute(
            select(Rsvp.broadcast_id, func.count())
            .where(Rsvp.broadcast_id.in_(ids))
            .group_by(Rsvp.broadcast_id)
        ).all()
    )
    zone_names = _zone_names(session, {b.zone_id for b in rows})
    views = []
    for b in rows:
        body, translations = preview.bodies(vault, b)
        views.append(
            BroadcastView(
                id=b.id,
                kind=b.kind,
                state=b.state,
                zone=zone_names.get(b.zone_id) if b.zone_id else None,
                urgent=b.urgent,
                body=body,
                translations=translations,
                recipients=b.recipients_estimate,
                segments=b.segments,
                encoding=count_segments(body).encoding,
                cost=b.cost_estimate,
                requested_at=b.requested_at,
                send_at=b.send_at,
                created_at=b.created_at,
                confirmed_at=b.confirmed_at,
                aborted_at=b.aborted_at,
                finished_at=b.finished_at,
                counts=counts[b.id],
                rsvps=rsvps.get(b.id, 0) if b.kind == "meet" else None,
            )
        )
    return views


# --- alerts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertView:
    id: int
    kind: str
    status: str
    zone: str | None
    message: str
    tier: int
    round: int
    opened_by: str | None
    created_at: datetime
    next_escalation_at: datetime | None
    acked_at: datetime | None
    acked_by: str | None
    closed_at: datetime | None


def alert(session: Session, vault: Vault, alert_id: int) -> AlertView:
    found = session.get(Alert, alert_id, populate_existing=True)
    if found is None:
        raise NotFound(f"no alert #{alert_id}")
    return _alert_views(session, vault, [found])[0]


def alerts(
    session: Session, vault: Vault, cursor: str | None, limit: int, *, status: str | None = None
) -> Page[AlertView]:
    query = select(Alert)
    if status:
        query = query.where(Alert.status == status)
    rows = page(session, query, Alert.id, cursor, limit, newest_first=True)
    return Page(_alert_views(session, vault, list(rows.items)), rows.next_cursor)


def _alert_views(session: Session, vault: Vault, rows: list[Alert]) -> list[AlertView]:
    people_ids = {i for a in rows for i in (a.opened_by_id, a.acked_by_id) if i}
    names = {
        p.id: p.name or f"{p.role} #{p.id}"
        for p in session.scalars(select(Person).where(Person.id.in_(people_ids)))
    }
    zone_names = _zone_names(session, {a.zone_id for a in rows})
    return [
        AlertView(
            id=a.id,
            kind=a.kind,
            status=a.status,
            zone=zone_names.get(a.zone_id) if a.zone_id else None,
            message=paging.message_of(vault, a),
            tier=a.tier,
            round=a.cycle + 1,
            opened_by=names.get(a.opened_by_id) if a.opened_by_id else None,
            created_at=a.created_at,
            next_escalation_at=a.next_escalation_at,
            acked_at=a.acked_at,
            acked_by=names.get(a.acked_by_id) if a.acked_by_id else None,
            closed_at=a.closed_at,
        )
        for a in rows
    ]


def timeline(session: Session, alert_id: int, cursor: str | None, limit: int) -> Page[AlertEvent]:
    if session.get(Alert, alert_id) is None:
        raise NotFound(f"no alert #{alert_id}")
    query = select(AlertEvent).where(AlertEvent.alert_id == alert_id)
    return page(session, query, AlertEvent.id, cursor, limit)


# --- people, zones, lists, keywords -------------------------------------------------------------


@dataclass(frozen=True)
class PersonView:
    id: int
    name: str
    role: str
    tier: int
    on_call: bool
    zone: str | None
    created_at: datetime


def person_view(session: Session, person: Person) -> PersonView:
    zone = session.get(Zone, person.zone_id) if person.zone_id else None
    return PersonView(
        person.id,
        person.name,
        person.role,
        person.tier,
        person.on_call,
        zone.name if zone else None,
        person.created_at,
    )


def people(
    session: Session,
    cursor: str | None,
    limit: int,
    *,
    role: str | None = None,
    on_call: bool | None = None,
) -> Page[PersonView]:
    query = select(Person)
    if role:
        query = query.where(Person.role == role)
    if on_call is not None:
        query = query.where(Person.on_call.is_(on_call))
    rows = page(session, query, Person.id, cursor, limit)
    zone_names = _zone_names(session, {p.zone_id for p in rows.items})
    views = [
        PersonView(
            p.id,
            p.name,
            p.role,
            p.tier,
            p.on_call,
            zone_names.get(p.zone_id) if p.zone_id else None,
            p.created_at,
        )
        for p in rows.items
    ]
    return Page(views, rows.next_cursor)


@dataclass(frozen=True)
class ZoneView:
    id: int
    name: str
    zips: list[str]
    created_at: datetime


def zone_view(session: Session, zone: Zone) -> ZoneView:
    zips = session.scalars(
        select(ZoneZip.zip).where(ZoneZip.zone_id == zone.id).order_by(ZoneZip.zip)
    )
    return ZoneView(zone.id, zone.name, list(zips), zone.created_at)


def zones(session: Session, cursor: str | None, limit: int) -> Page[ZoneView]:
    rows = page(session, select(Zone), Zone.id, cursor, limit)
    ids = [z.id for z in rows.items]
    zips: dict[int, list[str]] = {i: [] for i in ids}
    for zone_id, zip_code in session.execute(
        select(ZoneZip.zone_id, ZoneZip.zip).where(ZoneZip.zone_id.in_(ids)).order_by(ZoneZip.zip)
    ):
        zips[zone_id].append(zip_code)
    return Page(
        [ZoneView(z.id, z.name, zips[z.id], z.created_at) for z in rows.items], rows.next_cursor
    )


@dataclass(frozen=True)
class ListView:
    id: int
    name: str
    keywords: list[str]
    members: int
    created_at: datetime


def lists(session: Session, cursor: str | None, limit: int) -> Page[ListView]:
    rows = page(session, select(CampaignList), CampaignList.id, cursor, limit)
    ids = [c.id for c in rows.items]
    words: dict[int, list[str]] = {i: [] for i in ids}
    for list_id, word in session.execute(
        select(Keyword.list_id, Keyword.word).where(Keyword.list_id.in_(ids)).order_by(Keyword.word)
    ):
        words[list_id].append(word)
    members = dict(
        session.execute(
            select(Membership.list_id, func.count())
            .where(Membership.list_id.in_(ids))
            .group_by(Membership.list_id)
        ).all()
    )
    views = [
        ListView(c.id, c.name, words[c.id], members.get(c.id, 0), c.created_at) for c in rows.items
    ]
    return Page(views, rows.next_cursor)


@dataclass(frozen=True)
class KeywordView:
    word: str
    list: str
    language: str


def keyword_view(session: Session, keyword: Keyword) -> KeywordView:
    campaign = session.get(CampaignList, keyword.list_id)
    return KeywordView(keyword.word, campaign.name if campaign else "", keyword.language)


def keywords(session: Session, cursor: str | None, limit: int) -> Page[KeywordView]:
    rows = page(session, select(Keyword), Keyword.word, cursor, limit)
    names = dict(
        session.execute(
            select(CampaignList.id, CampaignList.name).where(
                CampaignList.id.in_({k.list_id for k in rows.items})
            )
        ).all()
    )
    views = [KeywordView(k.word, names.get(k.list_id, ""), k.language) for k in rows.items]
    return Page(views, rows.next_cursor)


# --- tokens and the audit log -----------------------------------------------------------------


def tokens(session: Session, cursor: str | None, limit: int) -> Page[ApiToken]:
    return page(session, select(ApiToken), ApiToken.id, cursor, limit)


def audit_log(
    session: Session, cursor: str | None, limit: int, *, action: str | None = None
) -> Page[AuditEntry]:
    query = select(AuditEntry)
    if action:
        query = query.where(AuditEntry.action == action)
    return page(session, query, AuditEntry.id, cursor, limit, newest_first=True)


def _zone_names(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(session.execute(select(Zone.id, Zone.name).where(Zone.id.in_(wanted))).all())
