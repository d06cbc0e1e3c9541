"""One place that turns errors into HTTP answers: a status with a reason, never a traceback."""

from __future__ import annotations

import logging

from flask import Flask, Response
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


def plain_http_error(exc: HTTPException) -> Response:
    """An HTTP error outside the API: its status and its reason, as plain text."""
    return Response(
        f"{exc.name}: {exc.description}\n", status=exc.code or 500, content_type="text/plain"
    )


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, plain_http_error)

    @app.errorhandler(OperationalError)
    def database_unavailable(exc: DBAPIError) -> Response:
        # Nothing was committed; Twilio retries a 503, and the retry is deduped.
        log.error("database unavailable: %s", type(exc.orig).__name__)
        response = Response(
            "database unavailable, retry later\n", status=503, content_type="text/plain"
        )
        response.headers["Retry-After"] = "5"
        return response
