"""Broadcasts: preview, confirm, abort, progress; as BCAST, MOVE, MEET, SEND, ABORT, STATUS."""

from __future__ import annotations

from typing import Any

from flask import request

from schemas.api.broadcasts import (
    BroadcastInputSchema,
    BroadcastPageSchema,
    BroadcastQuerySchema,
    BroadcastSchema,
)
from service.domain import listings, organizer_actions
from service.errors import InvalidInput
from service.web.api.operations import EVERYONE, ORGANIZER, Call, Reply, operation

IDEMPOTENCY_KEY = "Idempotency-Key"
MAX_KEY_LENGTH = 200


@operation(
    "/broadcasts",
    "POST",
    roles=ORGANIZER,
    tag="broadcasts",
    body=BroadcastInputSchema,
    response=BroadcastSchema,
    status=201,
    headers=(
        (
            IDEMPOTENCY_KEY,
            "the same key and body return the same broadcast; the same key with "
            "another body is a 422",
        ),
    ),
)
def create_broadcast(call: Call, body: dict[str, Any]) -> Any:
    """Preview a broadcast: how many people, segments, cost.

    Nothing is sent until it is confirmed (POST /broadcasts/{id}/confirm) within ten
    minutes, as SEND <code> confirms a BCAST by text.
    """
    key = request.headers.get(IDEMPOTENCY_KEY)
    if key is not None and not (
        1 <= len(key) <= MAX_KEY_LENGTH and key.isascii() and key.isprintable()
    ):
        raise InvalidInput(
            f"{IDEMPOTENCY_KEY} must be 1-{MAX_KEY_LENGTH} printable ASCII characters"
        )
    view, replayed = organizer_actions.create_broadcast(
        call.session,
        call.runtime.vault,
        call.runtime.config,
        call.actor,
        body,
        call.now,
        idempotency_key=key,
    )
    return Reply(view, status=200 if replayed else 201)


@operation(
    "/broadcasts",
    "GET",
    roles=EVERYONE,
    tag="broadcasts",
    query=BroadcastQuerySchema,
    response=BroadcastPageSchema,
)
def list_broadcasts(call: Call, query: dict[str, Any]) -> Any:
    """Broadcasts, newest first, with delivery counts."""
    return listings.broadcasts(
        call.session,
        call.runtime.vault,
        query.get("cursor"),
        query["limit"],
        kind=query.get("kind"),
        state=query.get("state"),
    )


@operation(
    "/broadcasts/<int:broadcast_id>",
    "GET",
    roles=EVERYONE,
    tag="broadcasts",
    response=BroadcastSchema,
)
def get_broadcast(call: Call, broadcast_id: int) -> Any:
    """One broadcast: its preview figures, progress and delivery counts."""
    return listings.broadcast(call.session, call.runtime.vault, broadcast_id)


@operation(
    "/broadcasts/<int:broadcast_id>/confirm",
    "POST",
    roles=ORGANIZER,
    tag="broadcasts",
    response=BroadcastSchema,
    errors=(409,),
)
def confirm_broadcast(call: Call, broadcast_id: int) -> Any:
    """Confirm a preview: it goes out now, or when quiet hours end unless urgent."""
    return organizer_actions.confirm_broadcast(
        call.session,
        call.runtime.vault,
        call.runtime.config,
        call.actor,
        broadcast_id,
        call.now,
        call.effects,
    )


@operation(
    "/broadcasts/<int:broadcast_id>/abort",
    "POST",
    roles=ORGANIZER,
    tag="broadcasts",
    response=BroadcastSchema,
    errors=(409,),
)
def abort_broadcast(call: Call, broadcast_id: int) -> Any:
    """Stop a broadcast in flight: nothing more of it goes out."""
    return organizer_actions.abort_broadcast(
        call.session, call.runtime.vault, call.actor, broadcast_id, call.now
    )
