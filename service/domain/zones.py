"""Zones: named areas people pick with ZONE, each with the ZIP codes inside it."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.errors import Conflict, InvalidInput
from service.models import Zone, ZoneZip

_NAME = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,39}")
_ZIP = re.compile(r"\d{5}")


def normalize_name(name: str) -> str:
    from service.sms.parser import fold

    cleaned = fold(name).replace(" ", "-")
    if not _NAME.fullmatch(cleaned):
        raise InvalidInput(
            f"zone name {name!r} must be 1-40 letters, digits, '-' or '_', starting with a letter "
            "or digit"
        )
    return cleaned


def add_zone(session: Session, name: str, zips: list[str] | tuple[str, ...] = ()) -> Zone:
    """Create a zone (or add ZIPs to an existing one). A ZIP belongs to one zone only."""
    zone_name = normalize_name(name)
    for zip_code in zips:
        if not _ZIP.fullmatch(zip_code):
            raise InvalidInput(f"ZIP {zip_code!r} must be five digits")
    zone = session.scalar(select(Zone).where(Zone.name == zone_name))
    if zone is None:
        zone = Zone(name=zone_name)
        session.add(zone)
        session.flush()
    for zip_code in zips:
        owner = session.get(ZoneZip, zip_code)
        if owner is not None and owner.zone_id != zone.id:
            other = session.get(Zone, owner.zone_id)
            raise Conflict(f"ZIP {zip_code} already belongs to zone {other.name if other else '?'}")
        if owner is None:
            session.add(ZoneZip(zip=zip_code, zone_id=zone.id))
    session.flush()
    return zone


def resolve(session: Session, given: str) -> Zone | None:
    """The zone a person means by a zone name or a ZIP code (ZIP+4 forgiven)."""
    text = given.strip()
    zip_match = re.fullmatch(r"(\d{5})(?:-?\d{4})?", text)
    if zip_match:
        owner = session.get(ZoneZip, zip_match.group(1))
        return session.get(Zone, owner.zone_id) if owner else None
    try:
        name = normalize_name(text)
    except InvalidInput:
        return None
    return session.scalar(select(Zone).where(Zone.name == name))


def names(session: Session) -> list[str]:
    return list(session.scalars(select(Zone.name).order_by(Zone.name)))
