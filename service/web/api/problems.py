"""The API's one error shape: application/problem+json (RFC 9457), from every failure.

Domain errors, marshmallow's field errors, HTTP errors (bad JSON, unknown paths,
wrong methods) and an unavailable database all leave here the same way.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, json, request
from marshmallow import ValidationError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from service.domain.broadcasts.errors import Refused
from service.errors import Conflict, Forbidden, InvalidInput, NotFound, RallylineError
from service.web.errors import plain_http_error

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
PREFIX = "/api/"

# Refusals that are about the broadcast's state, not the request: 409, not 422.
STATE_REFUSALS = frozenset(
    {"send_already", "send_superseded", "send_expired", "abort_none", "abort_unknown"}
)


class Unauthorized(RallylineError):
    """No bearer token, or one that is unknown or revoked."""


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    kind: str | None = None,
    errors: Any = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": f"urn:rallyline:problem:{kind}" if kind else "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype=MEDIA_TYPE)
    response.headers.update(headers or {})
    return response


def from_domain(exc: RallylineError) -> Response:
    if isinstance(exc, Unauthorized):
        return problem(
            401, "Unauthorized", str(exc), headers={"WWW-Authenticate": 'Bearer realm="rallyline"'}
        )
    if isinstance(exc, Forbidden):
        return problem(403, "Forbidden", str(exc))
    if isinstance(exc, NotFound):
        return problem(404, "Not Found", str(exc), kind="not-found")
    if isinstance(exc, Conflict) or (isinstance(exc, Refused) and exc.reply in STATE_REFUSALS):
        return problem(409, "Conflict", str(exc), kind="conflict")
    if isinstance(exc, InvalidInput):
        return problem(422, "Unprocessable Content", str(exc), kind="invalid")
    return problem(400, "Bad Request", str(exc), kind="refused")


def from_validation(exc: ValidationError) -> Response:
    return problem(
        422,
        "Unprocessable Content",
        "the request does not match its schema",
        kind="validation",
        errors=exc.messages,
    )


def from_http(exc: HTTPException) -> Response:
    response = problem(exc.code or 500, exc.name, exc.description or exc.name)
    if exc.code == 405 and exc.valid_methods:  # type: ignore[attr-defined]
        response.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
    return response


def register(blueprint: Blueprint) -> None:
    blueprint.register_error_handler(RallylineError, from_domain)
    blueprint.register_error_handler(ValidationError, from_validation)
    blueprint.register_error_handler(HTTPException, from_http)

    @blueprint.errorhandler(OperationalError)
    def database_unavailable(exc: OperationalError) -> Response:
        log.error("database unavailable: %s", type(exc.orig).__name__)
        return problem(
            503, "Service Unavailable", "database unavailable", headers={"Retry-After": "5"}
        )

    @blueprint.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.exception("unexpected error in %s %s", request.method, request.path)
        return problem(500, "Internal Server Error", "unexpected error; it was logged")

    # A path under /api/ that matches no route (or not with this method) belongs to no
    # blueprint, so these are app-wide; everything else keeps the app's plain answer.
    @blueprint.app_errorhandler(404)
    @blueprint.app_errorhandler(405)
    def unrouted(exc: HTTPException) -> Response:
        if request.path.startswith(PREFIX):
            return from_http(exc)
        return plain_http_error(exc)
