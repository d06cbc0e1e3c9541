"""API tokens: list, create (the secret is shown once), revoke."""

from __future__ import annotations

from typing import Any

from schemas.api.base import PageQuerySchema
from schemas.api.tokens import NewTokenSchema, TokenInputSchema, TokenPageSchema
from service.domain import listings, organizer_actions
from service.web.api.operations import ADMIN, Call, operation


@operation(
    "/tokens", "GET", roles=ADMIN, tag="tokens", query=PageQuerySchema, response=TokenPageSchema
)
def list_tokens(call: Call, query: dict[str, Any]) -> Any:
    """API tokens (never their secrets)."""
    return listings.tokens(call.session, query.get("cursor"), query["limit"])


@operation(
    "/tokens",
    "POST",
    roles=ADMIN,
    tag="tokens",
    body=TokenInputSchema,
    response=NewTokenSchema,
    status=201,
)
def create_token(call: Call, body: dict[str, Any]) -> Any:
    """Create a token; its secret is in this response only."""
    made = organizer_actions.create_token(
        call.session, call.actor, body["role"], body["name"], body["person_id"], call.now
    )
    token = made.token
    return {
        **{k: getattr(token, k) for k in NewTokenSchema().fields if k != "token"},
        "token": made.secret,
    }


@operation("/tokens/<int:token_id>", "DELETE", roles=ADMIN, tag="tokens", status=204, errors=(409,))
def revoke_token(call: Call, token_id: int) -> Any:
    """Revoke a token: it stops working at once."""
    organizer_actions.revoke_token(call.session, call.actor, token_id, call.now)
