"""Subscriber counts, the audited look-up by number, and the admin resources."""

from __future__ import annotations

import json

from sqlalchemy import select

from service.domain import keywords, zones
from service.models import Membership, Subscriber
from service.models.api import AuditEntry

ANA = "+12155550100"


def test_counts_by_status_language_zone_and_list(api, phone, session):  # type: ignore[no-untyped-def]
    zones.add_zone(session, "north", ["19104"])
    keywords.add_keyword(session, "MARCH", "march-list")
    session.commit()
    phone(ANA).text("JOIN")
    phone(ANA).text("ZONE 19104")
    phone("+12155550101").text("UNIRME")
    phone("+12155550102").text("MARCH")
    phone("+12155550103").text("JOIN")
    phone("+12155550103").text("STOP")
    counts = api("viewer").get("/subscribers/counts").get_json()
    assert counts["by_status"] == {"active": 3, "opted_out": 1}
    assert counts["total"] == 3 and counts["by_language"] == {"en": 2, "es": 1}
    assert {z["zone"]: z["count"] for z in counts["by_zone"]} == {"NORTH": 1, None: 2}
    assert {x["list"]: x["count"] for x in counts["by_list"]}["march-list"] == 1
    everyone = api("viewer").get("/subscribers/counts", query_string={"status": "all"}).get_json()
    assert everyone["total"] == 4
    assert "+1215" not in json.dumps(counts)


def test_no_route_lists_subscribers(app):  # type: ignore[no-untyped-def]
    rules = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/api/")}
    assert "/api/v1/subscribers" not in rules
    assert {r for r in rules if r.startswith("/api/v1/subscribers")} == {
        "/api/v1/subscribers/counts",
        "/api/v1/subscribers/lookup",
    }


def test_looking_up_a_number_is_an_audited_admin_action(api, phone, session):  # type: ignore[no-untyped-def]
    phone(ANA).text("JOIN")
    found = api("admin").post("/subscribers/lookup", json={"phone": "(215) 555-0100"})
    assert found.status_code == 200
    assert found.get_json()["phone"] == ANA and found.get_json()["status"] == "active"
    missing = api("admin").post("/subscribers/lookup", json={"phone": "+12155550188"})
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    assert api("organizer").post("/subscribers/lookup", json={"phone": ANA}).status_code == 403
    entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    # Both look-ups were written down, the miss too; neither with the number itself.
    assert [(e.action, e.actor_role, e.via) for e in entries] == [
        ("subscriber.lookup", "admin", "api"),
        ("subscriber.lookup", "admin", "api"),
    ]
    assert entries[0].target.startswith("subscriber:") and entries[1].target == ""
    for entry in entries:
        assert "5550100" not in entry.detail and "5550188" not in entry.detail
    log = api("admin").get("/audit").get_json()
    assert "555010" not in json.dumps(log) and "555018" not in json.dumps(log)


def test_a_forgotten_subscriber_has_no_number(api, phone, session):  # type: ignore[no-untyped-def]
    phone(ANA).text("JOIN")
    phone(ANA).text("FORGET")
    body = api("admin").post("/subscribers/lookup", json={"phone": ANA}).get_json()
    assert body["phone"] is None


def test_admin_manages_people_zones_keywords_and_tokens(api, session):  # type: ignore[no-untyped-def]
    admin = api("admin")
    person = admin.post(
        "/people", json={"phone": "+12155550140", "role": "responder", "name": "Bo", "tier": 2}
    )
    assert person.status_code == 201 and "phone" not in person.get_json()
    zone = admin.post("/zones", json={"name": "south", "zips": ["19148", "19147"]}).get_json()
    assert zone["zips"] == ["19147", "19148"]
    updated = admin.patch(
        f"/people/{person.get_json()['id']}", json={"on_call": False, "zone": "19148"}
    )
    assert updated.get_json()["on_call"] is False and updated.get_json()["zone"] == "SOUTH"
    on_call = api("dispatcher").get("/people", query_string={"on_call": "false"}).get_json()
    assert [p["name"] for p in on_call["items"]] == ["Bo"]
    assert (
        admin.post(
            "/keywords", json={"word": "marcha", "list": "marcha", "language": "es"}
        ).status_code
        == 201
    )
    assert admin.post("/keywords", json={"word": "marcha", "list": "x"}).status_code == 409
    made = admin.post("/tokens", json={"role": "viewer", "name": "wall screen"})
    assert made.status_code == 201 and made.get_json()["token"].startswith("rl_")
    secret, token_id = made.get_json()["token"], made.get_json()["id"]
    listed = admin.get("/tokens").get_json()
    assert secret not in json.dumps(listed)
    assert admin.delete(f"/tokens/{token_id}").status_code == 204
    assert admin.delete(f"/tokens/{token_id}").status_code == 409
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == [
        "person.register",
        "zone.add",
        "person.update",
        "keyword.add",
        "token.create",
        "token.revoke",
    ]
    assert (
        session.scalars(select(Membership)).all() == []
        and session.scalars(select(Subscriber)).all() == []
    )
