"""How an API operation is declared: one decorator names its path, method, roles and
schemas; the view gets the parsed input and returns what to render.

The same declarations generate the OpenAPI document (service.web.api.openapi), so
what is documented is what is enforced. A request runs as one unit of work:
authenticate, parse, call the domain, put follow-up work in the outbox, commit,
then hand that work to RQ.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, json, request
from marshmallow import Schema
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from schemas.api.base import MAX_ID
from service.domain import outbox, tokens
from service.domain.audit import Actor
from service.domain.context import Effect
from service.errors import Conflict, Forbidden, NotFound, RallylineError
from service.models import utcnow
from service.runtime import Runtime
from service.web.api import problems
from service.web.runtime import runtime

api = Blueprint("api", __name__, url_prefix="/api/v1")
problems.register(api)

# Who may do what. Every role reads counts; each other power belongs to one role.
EVERYONE = ("viewer", "organizer", "dispatcher", "admin")
ORGANIZER = ("organizer",)
ALERTING = ("organizer", "dispatcher")  # as ALERT by text
DISPATCHER = ("dispatcher",)
ALERT_READERS = ("organizer", "dispatcher", "admin")
ROSTER_READERS = ("dispatcher", "admin")
ADMIN = ("admin",)


@dataclass
class Call:
    """One request's unit of work, handed to the view."""

    session: Session
    runtime: Runtime
    actor: Actor
    now: datetime
    effects: list[Effect] = field(default_factory=list)
    # An error to answer with once the transaction is committed (an audited miss).
    error_after_commit: RallylineError | None = None


@dataclass(frozen=True)
class Reply:
    body: Any
    status: int | None = None
    headers: dict[str, str] | None = None


@dataclass(frozen=True)
class Operation:
    rule: str
    method: str
    endpoint: str
    summary: str
    description: str
    tag: str
    roles: tuple[str, ...]
    body: type[Schema] | None
    body_required: bool
    query: type[Schema] | None
    response: type[Schema] | None
    status: int
    errors: tuple[int, ...]
    headers: tuple[tuple[str, str], ...] = ()  # (request header, description)

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"<int:(\w+)>", self.rule)


OPERATIONS: list[Operation] = []
ATTEMPTS = 2


def operation(
    rule: str,
    method: str,
    *,
    roles: tuple[str, ...],
    tag: str,
    body: type[Schema] | None = None,
    body_required: bool = True,
    query: type[Schema] | None = None,
    response: type[Schema] | None = None,
    status: int = 200,
    errors: tuple[int, ...] = (),
    headers: tuple[tuple[str, str], ...] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        doc = inspect.cleandoc(view.__doc__ or "")
        summary, _, description = doc.partition("\n")
        spec = Operation(
            rule=rule,
            method=method,
            endpoint=view.__name__,
            summary=summary.strip(),
            description=description.strip(),
            tag=tag,
            roles=roles,
            body=body,
            body_required=body_required,
            query=query,
            response=response,
            status=status,
            errors=errors,
            headers=headers,
        )
        OPERATIONS.append(spec)
        body_schema = body() if body else None
        query_schema = query() if query else None
        response_schema = response() if response else None

        @functools.wraps(view)
        def handle(**path: Any) -> Response:
            if any(value > MAX_ID for value in path.values()):
                raise NotFound("no such id")  # larger than any id can be
            rt = runtime()
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    call, result, outbox_ids = run(rt, path)
                    break
                except IntegrityError:
                    # A concurrent request wrote the same unique row first (the same
                    # Idempotency-Key, zone, person...): run again now that it exists.
                    if attempt == ATTEMPTS:
                        raise Conflict("a concurrent request changed the same thing") from None
            if outbox_ids:
                rt.hand_over(outbox_ids)
            if call.error_after_commit is not None:
                raise call.error_after_commit
            reply = result if isinstance(result, Reply) else Reply(result)
            return _render(reply, response_schema, status)

        def run(rt: Runtime, path: dict[str, Any]) -> tuple[Call, Any, list[int]]:
            now = utcnow()
            with rt.database.session() as session:
                call = Call(session, rt, authenticate(session, roles), now)
                kwargs: dict[str, Any] = dict(path)
                if query_schema is not None:
                    kwargs["query"] = query_schema.load(request.args.to_dict())
                elif request.args:
                    kwargs["query"] = Schema().load(request.args.to_dict())  # rejects them
                if body_schema is not None:
                    kwargs["body"] = body_schema.load(_json_body(body_required))
                result = view(call, **kwargs)
                outbox_ids = outbox.defer(session, call.effects, now)
            return call, result, outbox_ids

        api.add_url_rule(rule, endpoint=view.__name__, view_func=handle, methods=[method])
        return view

    return decorator


def authenticate(session: Session, roles: tuple[str, ...]) -> Actor:
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise problems.Unauthorized("a bearer token is required (Authorization: Bearer ...)")
    token = tokens.verify(session, secret.strip())
    if token is None:
        raise problems.Unauthorized("the bearer token is unknown or revoked")
    if token.role not in roles:
        raise Forbidden(f"the {token.role} role may not do this (needs: {', '.join(roles)})")
    return Actor.of_token(token)


def _json_body(required: bool) -> Any:
    if not request.get_data():
        if required:
            raise BadRequest("a JSON body is required")
        return {}
    if not request.is_json:
        raise UnsupportedMediaType("send the body as application/json")
    try:
        return json.loads(request.get_data())
    except ValueError:
        raise BadRequest("the body is not valid JSON") from None


def _render(reply: Reply, schema: Schema | None, status: int) -> Response:
    code = reply.status or status
    if schema is None or code == 204:
        response = Response(status=204 if code == 204 else code)
    else:
        response = Response(
            json.dumps(schema.dump(reply.body)), status=code, mimetype="application/json"
        )
    response.headers.update(reply.headers or {})
    return response
