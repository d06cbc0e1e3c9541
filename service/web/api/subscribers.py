"""Subscribers: counts by list, zone, language and status; one subscriber by number."""

from __future__ import annotations

from typing import Any

from schemas.api.subscribers import (
    CountsQuerySchema,
    CountsSchema,
    LookupInputSchema,
    SubscriberSchema,
)
from service.domain import subscribers_report
from service.errors import NotFound
from service.web.api.operations import ADMIN, EVERYONE, Call, operation


@operation(
    "/subscribers/counts",
    "GET",
    roles=EVERYONE,
    tag="subscribers",
    query=CountsQuerySchema,
    response=CountsSchema,
)
def subscriber_counts(call: Call, query: dict[str, Any]) -> Any:
    """How many subscribers, by status, and by list, zone and language."""
    status = None if query["status"] == "all" else query["status"]
    counts = subscribers_report.counts(call.session, status)
    return {
        "status": counts.status,
        "total": counts.total,
        "by_status": counts.by_status,
        "by_language": counts.by_language,
        "by_zone": [{"zone": zone, "count": n} for zone, n in counts.by_zone],
        "by_list": [{"list": name, "count": n} for name, n in counts.by_list],
    }


@operation(
    "/subscribers/lookup",
    "POST",
    roles=ADMIN,
    tag="subscribers",
    body=LookupInputSchema,
    response=SubscriberSchema,
)
def subscriber_lookup(call: Call, body: dict[str, Any]) -> Any:
    """One subscriber by phone number (audited).

    The number is sent in the body so it stays out of URLs and access logs. Every
    look-up is written to the audit log, found or not.
    """
    found = subscribers_report.lookup(
        call.session, call.runtime.vault, call.actor, body["phone"], call.now
    )
    if found is None:
        call.error_after_commit = NotFound("no subscriber has that number")
    return found
