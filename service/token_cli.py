"""`rallyline token`: API bearer tokens, created with a role, shown once, revocable."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from service.admin_cli import domain_session
from service.domain import audit, organizer_actions, tokens
from service.models import utcnow
from service.models.api import TOKEN_ROLES, ApiToken


@click.group(cls=AppGroup)
def token() -> None:
    """API bearer tokens for the organizer API (/api/v1)."""


@token.command("create")
@click.option("--role", required=True, type=click.Choice(TOKEN_ROLES))
@click.option("--name", default="", help="who or what uses it (shown in the audit log)")
@click.option("--person", "phone", default=None, help="the registered person it acts for")
def token_create(role: str, name: str, phone: str | None) -> None:
    """Create a token with ROLE and print it. It is shown this once: only a hash is kept."""
    with domain_session() as (session, rt):
        person_id = tokens.person_by_phone(session, rt.vault, phone).id if phone else None
        made = organizer_actions.create_token(session, audit.CLI, role, name, person_id, utcnow())
    click.echo(f"token #{made.token.id} ({role}); it will not be shown again:", err=True)
    click.echo(made.secret)


@token.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke token TOKEN_ID: it stops working at once."""
    with domain_session() as (session, _):
        organizer_actions.revoke_token(session, audit.CLI, token_id, utcnow())
    click.echo(f"token #{token_id} revoked")


@token.command("list")
def token_list() -> None:
    """Tokens, their roles and whether they are revoked (never the tokens themselves)."""
    with domain_session() as (session, _):
        rows = list(session.scalars(select(ApiToken).order_by(ApiToken.id)))
    if not rows:
        click.echo("no tokens yet")
    for row in rows:
        state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
        click.echo(f"#{row.id:<4} {row.role:<10} {row.prefix}...  {state}  {row.name}")
