"""Organizer and admin commands: people, keywords, zones."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from service.domain import keywords, zones
from service.domain import people as people_domain
from service.errors import RallylineError
from service.models.people import ROLES
from service.runtime import Runtime


@contextmanager
def domain_session() -> Iterator[tuple[Session, Runtime]]:
    """A committed unit of work; a domain error becomes one clear message, nothing written."""
    rt: Runtime = current_app.extensions["rallyline"]
    try:
        with rt.database.session() as session:
            yield session, rt
    except RallylineError as exc:
        raise click.ClickException(str(exc)) from None


@click.group(cls=AppGroup)
def people() -> None:
    """Organizers, dispatchers, responders and admins."""


@people.command("add")
@click.argument("phone")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--name", default="", help="shown to other responders")
@click.option("--tier", default=1, type=click.IntRange(1, 9), help="escalation tier")
def people_add(phone: str, role: str, name: str, tier: int) -> None:
    """Register PHONE with a role (updates role, name and tier if already registered)."""
    with domain_session() as (session, rt):
        person = people_domain.register(session, rt.vault, phone, role, name=name, tier=tier)
        click.echo(
            f"person {person.id}: {person.role}, tier {person.tier}"
            + (f", {person.name}" if person.name else "")
        )


@click.group(cls=AppGroup)
def keyword() -> None:
    """Campaign keywords people text to join a list."""


@keyword.command("add")
@click.argument("word")
@click.option("--list", "list_name", required=True, help="the list the keyword joins")
@click.option("--lang", default="en", type=click.Choice(keywords.LANGUAGES))
def keyword_add(word: str, list_name: str, lang: str) -> None:
    """Texting WORD joins the list NAME, with replies in --lang."""
    with domain_session() as (session, _):
        added = keywords.add_keyword(session, word, list_name, lang)
        click.echo(f"keyword {added.word} joins list {list_name} ({lang})")


@click.group(cls=AppGroup)
def zone() -> None:
    """Areas people pick with ZONE <name or ZIP>."""


@zone.command("add")
@click.argument("name")
@click.option("--zip", "zips", multiple=True, help="a ZIP code inside the zone (repeatable)")
def zone_add(name: str, zips: tuple[str, ...]) -> None:
    """Create zone NAME (or add ZIPs to it)."""
    with domain_session() as (session, _):
        added = zones.add_zone(session, name, list(zips))
        click.echo(f"zone {added.name}" + (f" with ZIPs {', '.join(zips)}" if zips else ""))
