"""The OpenAPI 3 document, generated from the operations' declarations and their
marshmallow schemas (apispec), never written by hand."""

from __future__ import annotations

import re
from functools import cache
from http import HTTPStatus
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from schemas.api.base import MAX_ID, ProblemSchema
from service.web.api.operations import OPERATIONS, Operation
from service.web.api.problems import MEDIA_TYPE

PREFIX = "/api/v1"
# Every operation can answer these; each operation adds its own (404, 409, 422...).
COMMON_ERRORS = (401, 403, 503)
DESCRIPTION = """\
The organizer API: everything an organizer can do by text, over HTTP.

Authenticate with a bearer token made by `rallyline token create --role ROLE`
(admin, organizer, dispatcher or viewer). A missing or unknown token is 401, a
token whose role may not do something is 403. Every error is
`application/problem+json`. Lists are paged by cursor: pass the `next_cursor`
of one page as `cursor` to get the next. Phone numbers are never listed; looking
one up is an audited admin action.
"""


@cache
def document() -> dict[str, Any]:
    spec = APISpec(
        title="rallyline organizer API",
        version="1",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": DESCRIPTION},
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Problem", schema=ProblemSchema)
    for operation in OPERATIONS:
        path = PREFIX + re.sub(r"<int:(\w+)>", r"{\1}", operation.rule)
        spec.path(path=path, operations={operation.method.lower(): _operation(operation)})
    return spec.to_dict()


def _operation(op: Operation) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {
            "in": "path",
            "name": name,
            "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        }
        for name in op.path_params
    ]
    parameters += [
        {
            "in": "header",
            "name": name,
            "required": False,
            "schema": {"type": "string"},
            "description": description,
        }
        for name, description in op.headers
    ]
    if op.query is not None:
        parameters.append({"in": "query", "schema": op.query})
    answer: dict[str, Any] = {"description": HTTPStatus(op.status).phrase}
    if op.response is not None and op.status != 204:
        answer["content"] = {"application/json": {"schema": op.response}}
    responses: dict[str, Any] = {str(op.status): answer}
    if op.headers:  # an idempotent replay answers 200 with the same body
        responses["200"] = {**answer, "description": "the same request, seen before"}
    errors = set(COMMON_ERRORS) | set(op.errors)
    if op.body is not None or op.query is not None or op.path_params:
        errors.add(422)
    if op.body is not None:
        errors |= {400, 415}
    if op.path_params:
        errors.add(404)
    if op.method != "GET":  # a write that lost a race with another twice is a 409
        errors.add(409)
    for code in sorted(errors):
        responses[str(code)] = {
            "description": HTTPStatus(code).phrase,
            "content": {MEDIA_TYPE: {"schema": "Problem"}},
        }
    result: dict[str, Any] = {
        "operationId": op.endpoint,
        "summary": op.summary,
        "tags": [op.tag],
        "security": [{"bearer": []}],
        "x-roles": list(op.roles),
        "parameters": parameters,
        "responses": responses,
    }
    if op.description:
        result["description"] = op.description
    if op.body is not None:
        result["requestBody"] = {
            "required": op.body_required,
            "content": {"application/json": {"schema": op.body}},
        }
    return result
