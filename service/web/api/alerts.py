"""Rapid-response alerts: open, list, timeline, acknowledge, close."""

from __future__ import annotations

from typing import Any

from schemas.api.alerts import (
    AcknowledgeInputSchema,
    AlertEventPageSchema,
    AlertInputSchema,
    AlertPageSchema,
    AlertQuerySchema,
    AlertSchema,
    CloseInputSchema,
)
from schemas.api.base import PageQuerySchema
from service.domain import listings, organizer_actions
from service.web.api.operations import ALERT_READERS, ALERTING, DISPATCHER, Call, operation


@operation(
    "/alerts",
    "POST",
    roles=ALERTING,
    tag="alerts",
    body=AlertInputSchema,
    response=AlertSchema,
    status=201,
    errors=(409,),
)
def open_alert(call: Call, body: dict[str, Any]) -> Any:
    """Page the on-call responders, tier by tier, as ALERT does by text."""
    return organizer_actions.open_alert(
        call.session,
        call.runtime.vault,
        call.runtime.config,
        call.actor,
        body["message"],
        body["zone"],
        call.now,
        call.effects,
    )


@operation(
    "/alerts",
    "GET",
    roles=ALERT_READERS,
    tag="alerts",
    query=AlertQuerySchema,
    response=AlertPageSchema,
)
def list_alerts(call: Call, query: dict[str, Any]) -> Any:
    """Alerts and reports, newest first."""
    return listings.alerts(
        call.session,
        call.runtime.vault,
        query.get("cursor"),
        query["limit"],
        status=query.get("status"),
    )


@operation("/alerts/<int:alert_id>", "GET", roles=ALERT_READERS, tag="alerts", response=AlertSchema)
def get_alert(call: Call, alert_id: int) -> Any:
    """One alert and where it stands."""
    return listings.alert(call.session, call.runtime.vault, alert_id)


@operation(
    "/alerts/<int:alert_id>/timeline",
    "GET",
    roles=ALERT_READERS,
    tag="alerts",
    query=PageQuerySchema,
    response=AlertEventPageSchema,
)
def alert_timeline(call: Call, alert_id: int, query: dict[str, Any]) -> Any:
    """What happened to an alert: paged, delivered, acknowledged, escalated, closed."""
    return listings.timeline(call.session, alert_id, query.get("cursor"), query["limit"])


@operation(
    "/alerts/<int:alert_id>/acknowledge",
    "POST",
    roles=DISPATCHER,
    tag="alerts",
    body=AcknowledgeInputSchema,
    body_required=False,
    response=AlertSchema,
    errors=(409,),
)
def acknowledge_alert(call: Call, alert_id: int, body: dict[str, Any]) -> Any:
    """Acknowledge for a person (theirs, or the token's): stops the escalation."""
    return organizer_actions.acknowledge_alert(
        call.session,
        call.runtime.vault,
        call.runtime.config,
        call.actor,
        alert_id,
        body["person_id"],
        call.now,
        call.effects,
    )


@operation(
    "/alerts/<int:alert_id>/close",
    "POST",
    roles=DISPATCHER,
    tag="alerts",
    body=CloseInputSchema,
    body_required=False,
    response=AlertSchema,
    errors=(409,),
)
def close_alert(call: Call, alert_id: int, body: dict[str, Any]) -> Any:
    """Close an alert: stops escalation, tells whoever reported it."""
    return organizer_actions.close_alert(
        call.session,
        call.runtime.vault,
        call.runtime.config,
        call.actor,
        alert_id,
        call.now,
        call.effects,
    )
