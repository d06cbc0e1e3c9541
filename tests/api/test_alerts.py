"""Alerts over the API: open, list, timeline, acknowledge, close; audited like the texts."""

from __future__ import annotations

from sqlalchemy import select

from service.domain import people
from service.models import Alert
from service.models.api import AuditEntry
from tests.api.conftest import DISPATCHER_PHONE

RESPONDER = "+12155550131"


def responder(session, runtime, number=RESPONDER, name="Ana", tier=1):  # type: ignore[no-untyped-def]
    person = people.register(session, runtime.vault, number, "responder", name=name, tier=tier)
    session.commit()
    return person


def test_open_acknowledge_close_with_a_timeline(api, session, runtime, phone):  # type: ignore[no-untyped-def]
    ana = responder(session, runtime)
    opened = api("dispatcher").post("/alerts", json={"message": "ICE van at 5th and Main"})
    assert opened.status_code == 201, opened.get_json()
    alert = opened.get_json()
    assert (alert["status"], alert["tier"], alert["opened_by"]) == ("open", 1, "Dee")
    assert alert["next_escalation_at"] is not None
    listed = api("organizer").get("/alerts").get_json()
    assert [a["id"] for a in listed["items"]] == [alert["id"]]
    acked = api("dispatcher").post(f"/alerts/{alert['id']}/acknowledge", json={"person_id": ana.id})
    assert acked.status_code == 200, acked.get_json()
    assert acked.get_json()["acked_by"] == "Ana" and acked.get_json()["next_escalation_at"] is None
    # A second acknowledgement by someone else loses, as by text.
    again = api("dispatcher").post(f"/alerts/{alert['id']}/acknowledge")
    assert again.status_code == 409
    closed = api("dispatcher").post(f"/alerts/{alert['id']}/close")
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"
    assert api("dispatcher").post(f"/alerts/{alert['id']}/close", json={}).status_code == 409
    timeline = api("dispatcher").get(f"/alerts/{alert['id']}/timeline").get_json()
    kinds = [event["kind"] for event in timeline["items"]]
    assert kinds[:2] == ["opened", "paged"] and "acked" in kinds and kinds[-1] == "closed"
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["alert.open", "alert.acknowledge", "alert.close"]


def test_the_token_person_acknowledges_by_default(api, session, runtime):  # type: ignore[no-untyped-def]
    responder(session, runtime)
    alert = api("organizer").post("/alerts", json={"message": "help"}).get_json()
    acked = api("dispatcher").post(f"/alerts/{alert['id']}/acknowledge")
    assert acked.status_code == 200 and acked.get_json()["acked_by"] == "Dee"


def test_nobody_on_call_and_unknown_zone(api, session, runtime):  # type: ignore[no-untyped-def]
    nobody = api("dispatcher").post("/alerts", json={"message": "help"})
    assert nobody.status_code == 409 and "on call" in nobody.get_json()["detail"]
    responder(session, runtime)
    zone = api("dispatcher").post("/alerts", json={"message": "help", "zone": "mars"})
    assert zone.status_code == 422
    assert session.scalars(select(Alert)).all() == []
    assert (
        api("dispatcher").post("/alerts/77/acknowledge", json={"person_id": 1}).status_code == 404
    )
    assert api("dispatcher").get("/alerts/77/timeline").status_code == 404


def test_alert_by_text_is_audited_too(phone, session, runtime):  # type: ignore[no-untyped-def]
    responder(session, runtime)
    people.register(session, runtime.vault, DISPATCHER_PHONE, "dispatcher", name="Dee")
    session.commit()
    assert "opened" in phone(DISPATCHER_PHONE).text("ALERT raid on 5th street")
    phone(RESPONDER).text("1A")
    entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.via, e.action, e.actor_name) for e in entries] == [
        ("sms", "alert.open", "Dee"),
        ("sms", "alert.acknowledge", "Ana"),
    ]
    assert entries[0].recipients == 1
