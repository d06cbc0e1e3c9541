"""The audit log (admin)."""

from __future__ import annotations

from typing import Any

from schemas.api.audit import AuditPageSchema, AuditQuerySchema
from service.domain import listings
from service.web.api.operations import ADMIN, Call, operation


@operation(
    "/audit", "GET", roles=ADMIN, tag="audit", query=AuditQuerySchema, response=AuditPageSchema
)
def audit_log(call: Call, query: dict[str, Any]) -> Any:
    """Who did what, when, to how many people: newest first."""
    return listings.audit_log(
        call.session, query.get("cursor"), query["limit"], action=query.get("action")
    )
