"""Campaign lists and keywords."""

from __future__ import annotations

from typing import Any

from schemas.api.base import PageQuerySchema
from schemas.api.lists import KeywordInputSchema, KeywordPageSchema, KeywordSchema, ListPageSchema
from service.domain import listings, organizer_actions
from service.web.api.operations import ADMIN, EVERYONE, Call, operation


@operation(
    "/lists", "GET", roles=EVERYONE, tag="lists", query=PageQuerySchema, response=ListPageSchema
)
def list_lists(call: Call, query: dict[str, Any]) -> Any:
    """Campaign lists, their keywords and how many people joined each."""
    return listings.lists(call.session, query.get("cursor"), query["limit"])


@operation(
    "/keywords",
    "GET",
    roles=EVERYONE,
    tag="lists",
    query=PageQuerySchema,
    response=KeywordPageSchema,
)
def list_keywords(call: Call, query: dict[str, Any]) -> Any:
    """Campaign keywords and the list each joins."""
    return listings.keywords(call.session, query.get("cursor"), query["limit"])


@operation(
    "/keywords",
    "POST",
    roles=ADMIN,
    tag="lists",
    body=KeywordInputSchema,
    response=KeywordSchema,
    status=201,
    errors=(409,),
)
def add_keyword(call: Call, body: dict[str, Any]) -> Any:
    """Add a keyword: texting it joins the list (created if new)."""
    return organizer_actions.add_keyword(
        call.session, call.actor, body["word"], body["list"], body["language"], call.now
    )
