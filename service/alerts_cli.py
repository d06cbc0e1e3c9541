"""`rallyline alerts`: organizers read what happened to an alert, and can close one."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from service.admin_cli import domain_session
from service.domain.alerts import paging, responses, timeline
from service.domain.alerts.sms import send_effects
from service.models import Alert, Person, utcnow


@click.group(cls=AppGroup)
def alerts() -> None:
    """Rapid-response alerts: list, show the timeline, close."""


@alerts.command("list")
@click.option("--limit", default=20, type=click.IntRange(1, 500), help="how many, newest first")
def alerts_list(limit: int) -> None:
    """The latest alerts and where each stands."""
    with domain_session() as (session, rt):
        rows = list(session.scalars(select(Alert).order_by(Alert.id.desc()).limit(limit)))
        if not rows:
            click.echo("no alerts yet")
        for alert in rows:
            when = alert.created_at.astimezone(rt.config.timezone).strftime("%Y-%m-%d %H:%M")
            message = paging.message_of(rt.vault, alert)
            click.echo(
                f"#{alert.id:<5} {when}  {alert.kind:<6} {alert.status:<12} "
                f"tier {alert.tier}  {message[:50]}"
            )


@alerts.command("show")
@click.argument("alert_id", type=int)
def alerts_show(alert_id: int) -> None:
    """ALERT_ID's message, state and timeline (who was paged, delivered, acked, escalated...)."""
    with domain_session() as (session, rt):
        alert = session.get(Alert, alert_id)
        if alert is None:
            raise click.ClickException(f"no alert #{alert_id}")
        tz = rt.config.timezone
        opened_by = session.get(Person, alert.opened_by_id) if alert.opened_by_id else None
        label = "ALERT" if alert.kind == "alert" else "REPORT (unverified)"
        click.echo(f"#{alert.id} {label}{paging.zone_suffix(session, alert.zone_id)}")
        click.echo(f"  message: {paging.message_of(rt.vault, alert)}")
        click.echo(
            f"  opened:  {alert.created_at.astimezone(tz):%Y-%m-%d %H:%M:%S %Z} by "
            + (timeline.name_of(opened_by) if opened_by else "a texted REPORT")
        )
        state = f"  status:  {alert.status}, tier {alert.tier}, round {alert.cycle + 1}"
        if alert.next_escalation_at is not None:
            state += f", next escalation {alert.next_escalation_at.astimezone(tz):%H:%M:%S}"
        click.echo(state)
        click.echo("  timeline:")
        for event in timeline.events(session, alert.id):
            click.echo(f"    {event.at.astimezone(tz):%H:%M:%S}  {event.kind:<14} {event.detail}")


@alerts.command("close")
@click.argument("alert_id", type=int)
def alerts_close(alert_id: int) -> None:
    """Close ALERT_ID from the command line (stops escalation; tells a reporter)."""
    with domain_session() as (session, rt):
        alert = session.get(Alert, alert_id)
        if alert is None:
            raise click.ClickException(f"no alert #{alert_id}")
        if alert.status == "closed":
            raise click.ClickException(f"alert #{alert_id} is already closed")
        answer = responses.close(
            session, rt.vault, rt.config, None, responses.Target(alert, alert.id), utcnow()
        )
    for effect in send_effects(answer.message_ids):
        rt.enqueue(effect)
    click.echo(f"alert #{alert_id} closed; {len(answer.message_ids)} people told")
