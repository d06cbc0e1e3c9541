"""The `rallyline` command: development, the database, simulation and administration."""

from __future__ import annotations

import sys
import uuid
import xml.etree.ElementTree as ElementTree

import click
import requests
from flask.cli import FlaskGroup
from twilio.request_validator import RequestValidator

from service import create_app
from service.config import Config
from service.errors import ConfigError


@click.group(
    cls=FlaskGroup, create_app=create_app, add_version_option=False, add_default_commands=False
)
def cli() -> None:
    """rallyline: keywords, broadcasts and rapid-response paging by text."""


def main() -> None:
    try:
        cli.main(prog_name="rallyline")
    except ConfigError as exc:
        click.echo(f"rallyline: configuration error: {exc}", err=True)
        sys.exit(2)


@cli.command("dev")
@click.option("--port", default=None, type=click.IntRange(1, 65535), help="web port (PORT)")
def dev(port: int | None) -> None:
    """Run web, worker and clock locally on the embedded defaults."""
    from service.devserver import run

    config = Config.from_env()
    run(config, port or config.port)


@cli.group("db")
def db() -> None:
    """The database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the schema to the newest migration."""
    from flask import current_app

    current_app.extensions["rallyline"].database.upgrade()
    click.echo("database schema is up to date")


@cli.command("text", context_settings={"ignore_unknown_options": False})
@click.argument("sender")
@click.argument("body", nargs=-1, required=True)
@click.option("--url", default=None, help="server base URL (default PUBLIC_BASE_URL)")
def text(sender: str, body: tuple[str, ...], url: str | None) -> None:
    """Simulate an inbound SMS from SENDER, signed like Twilio signs it; print the reply."""
    config = Config.from_env()
    base = (url or config.public_base_url).rstrip("/")
    target = f"{base}/twilio/sms"
    form = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": config.twilio_account_sid or "AC" + "0" * 32,
        "From": sender,
        "To": config.twilio_from_number or "+15005550006",
        "Body": " ".join(body),
        "NumMedia": "0",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    signature = RequestValidator(config.webhook_token).compute_signature(target, form)
    try:
        answer = requests.post(
            target, data=form, headers={"X-Twilio-Signature": signature}, timeout=20
        )
    except requests.RequestException as exc:
        raise click.ClickException(f"cannot reach {target}: {type(exc).__name__}") from None
    if answer.status_code != 200:
        raise click.ClickException(f"{target} answered {answer.status_code}: {answer.text.strip()}")
    replies = [m.text or "" for m in ElementTree.fromstring(answer.content).iter("Message")]
    click.echo("\n".join(replies) if replies else "(no reply)")


from service.admin_cli import keyword, people, zone  # noqa: E402

for group in (people, keyword, zone):
    cli.add_command(group)

from service.alerts_cli import alerts  # noqa: E402

cli.add_command(alerts)

from service.token_cli import token  # noqa: E402

cli.add_command(token)
