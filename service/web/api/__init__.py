"""The organizer API, /api/v1: a module per resource, the OpenAPI document, problem+json."""

from flask import jsonify
from flask.typing import ResponseReturnValue

from service.web.api import (  # noqa: F401  (each module declares its operations)
    alerts,
    audit,
    broadcasts,
    lists,
    meetings,
    people,
    subscribers,
    tokens,
    zones,
)
from service.web.api.openapi import document
from service.web.api.operations import api


@api.get("/openapi.json")
def openapi_json() -> ResponseReturnValue:
    """The OpenAPI 3 document (public: it describes, it reveals nothing)."""
    return jsonify(document())


__all__ = ["api"]
