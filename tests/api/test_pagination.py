"""Cursor pagination on every list."""

from __future__ import annotations

import pytest

from service.domain import keywords, zones
from service.web.api.operations import OPERATIONS


def walk(client, path, **params):  # type: ignore[no-untyped-def]
    """Every item of a list, page by page; and the number of pages."""
    items, pages, cursor = [], 0, None
    while True:
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        body = client.get(path, query_string=query).get_json()
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages


def test_every_list_is_paged():  # type: ignore[no-untyped-def]
    lists = [op for op in OPERATIONS if op.response and op.response.__name__.endswith("PageSchema")]
    assert len(lists) >= 10
    for op in lists:
        assert op.method == "GET" and {"cursor", "limit"} <= set(op.query().fields), op.rule


def test_pages_cover_everything_once(api, session):  # type: ignore[no-untyped-def]
    for n in range(7):
        zones.add_zone(session, f"zone{n}", [f"1910{n}"])
        keywords.add_keyword(session, f"word{n}", f"list{n % 3}")
    session.commit()
    items, pages = walk(api("viewer"), "/zones", limit=3)
    assert [z["name"] for z in items] == [f"ZONE{n}" for n in range(7)] and pages == 3
    items, pages = walk(api("viewer"), "/keywords", limit=2)
    assert [k["word"] for k in items] == sorted(f"WORD{n}" for n in range(7)) and pages == 4
    items, _ = walk(api("viewer"), "/lists", limit=1)
    assert [(x["name"], len(x["keywords"])) for x in items] == [
        ("list0", 3),
        ("list1", 2),
        ("list2", 2),
    ]


def test_newest_first_lists_page_backwards(api, session, runtime):  # type: ignore[no-untyped-def]
    from service.domain import audit
    from service.models import utcnow

    for n in range(5):
        audit.record(session, audit.CLI, "test.action", utcnow(), detail=str(n))
    session.commit()
    items, pages = walk(api("admin"), "/audit", limit=2)
    assert [e["detail"] for e in items] == ["4", "3", "2", "1", "0"] and pages == 3


@pytest.mark.parametrize("cursor", ["garbage!", "WyJ4Il0", "e30"])
def test_a_cursor_we_did_not_give_is_422(api, cursor):  # type: ignore[no-untyped-def]
    answer = api("viewer").get("/zones", query_string={"cursor": cursor})
    assert answer.status_code == 422 and answer.mimetype == "application/problem+json"


@pytest.mark.parametrize("limit", ["0", "101", "x"])
def test_limit_bounds(api, limit):  # type: ignore[no-untyped-def]
    assert api("viewer").get("/zones", query_string={"limit": limit}).status_code == 422
