"""Broadcasts over the API: the same broadcast as by text, previews, confirm, abort,
progress, idempotency."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from service.domain import zones
from service.domain.broadcasts import planning, preview
from service.models import OutboundMessage
from service.models.api import AuditEntry
from service.models.broadcasts import Broadcast
from tests.api.conftest import ORGANIZER_PHONE

# What makes two broadcasts the same request's broadcast (ids, codes and times aside).
SAME = (
    "kind",
    "organizer_id",
    "zone_id",
    "urgent",
    "validity_period",
    "recipients_estimate",
    "segments",
    "cost_estimate",
)


def rows(session):  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.scalars(select(Broadcast).order_by(Broadcast.id)).all()


def essence(vault, broadcast):  # type: ignore[no-untyped-def]
    return {name: getattr(broadcast, name) for name in SAME} | {
        "bodies": preview.bodies(vault, broadcast)
    }


@pytest.mark.parametrize(
    ("text", "request_body"),
    [
        ("BCAST March at noon, City Hall", {"message": "March at noon, City Hall"}),
        ("BCAST @north Bring water", {"message": "Bring water", "zone": "north"}),
        ("BCAST URGENT police at the gate", {"message": "police at the gate", "urgent": True}),
        ("MOVE 5th and Main", {"kind": "move", "message": "5th and Main"}),
        (
            "MEET Thursday 7pm, church hall",
            {"kind": "meet", "message": "Thursday 7pm, church hall"},
        ),
    ],
)
def test_sms_and_api_make_the_same_broadcast(
    phone, api, seed, session, runtime, text, request_body
):  # type: ignore[no-untyped-def]
    north = zones.add_zone(session, "north", ["19104"])
    session.commit()
    seed(3)
    seed(2, zone_id=north.id, language="es", start=100)
    reply = phone(ORGANIZER_PHONE).text(text)
    assert "SEND" in reply, reply
    answer = api("organizer").post("/broadcasts", json=request_body)
    assert answer.status_code == 201, answer.get_json()
    by_text, by_api = rows(session)
    assert essence(runtime.vault, by_text) == essence(runtime.vault, by_api)
    # The token acts for the organizer who texted: their newer preview replaced the last.
    assert (by_text.state, by_api.state) == ("cancelled", "preview")
    # The preview the API shows is the one the text showed.
    body = answer.get_json()
    assert f"{body['recipients']} people" in reply
    assert f"${body['cost']}" in reply
    assert f"{body['segments']} segment(s)" in reply
    # Both were audited, each with its front door.
    entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.via, e.action, e.recipients) for e in entries] == [
        ("sms", f"broadcast.{by_text.kind}", by_text.recipients_estimate),
        ("api", f"broadcast.{by_api.kind}", by_api.recipients_estimate),
    ]
    assert entries[0].actor_name == "Rosa" and entries[1].actor_role == "organizer"


def test_preview_confirm_progress_abort(api, seed, session, runtime):  # type: ignore[no-untyped-def]
    seed(4)
    organizer = api("organizer")
    created = organizer.post("/broadcasts", json={"message": "Marcha mañana “todos”"}).get_json()
    assert created["state"] == "preview"
    assert (created["recipients"], created["segments"], created["encoding"]) == (4, 1, "UCS-2")
    assert created["cost"] == "0.03"  # 4 x 1 x $0.0083
    confirmed = organizer.post(f"/broadcasts/{created['id']}/confirm")
    assert confirmed.status_code == 200 and confirmed.get_json()["state"] == "scheduled"
    again = organizer.post(f"/broadcasts/{created['id']}/confirm")
    assert again.status_code == 409 and again.mimetype == "application/problem+json"
    # Plan it and mark two texts delivered: the API shows the progress.
    [broadcast] = rows(session)
    with runtime.database.session() as s:
        planning.start_if_due(s, broadcast.id, broadcast.send_at)
    with runtime.database.session() as s:
        planning.plan_batch(s, broadcast.id, "t", broadcast.send_at)
    with runtime.database.session() as s:
        ids = s.scalars(
            select(OutboundMessage.id).where(OutboundMessage.broadcast_id == broadcast.id)
        ).all()
        s.execute(
            OutboundMessage.__table__.update()
            .where(OutboundMessage.id.in_(ids[:2]))
            .values(status="delivered")
        )
    progress = api("viewer").get(f"/broadcasts/{created['id']}").get_json()
    assert progress["state"] == "sending" and progress["counts"] == {"delivered": 2, "queued": 2}
    aborted = organizer.post(f"/broadcasts/{created['id']}/abort")
    assert aborted.status_code == 200
    assert aborted.get_json()["state"] == "aborted"
    assert aborted.get_json()["counts"] == {"delivered": 2, "skipped": 2}
    assert organizer.post(f"/broadcasts/{created['id']}/abort").status_code == 409
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["broadcast.bcast", "broadcast.confirm", "broadcast.abort"]


def test_confirm_hands_the_broadcast_to_the_workers(api, seed, redis_conn):  # type: ignore[no-untyped-def]
    from rq import Queue

    seed(1)
    created = api("organizer").post("/broadcasts", json={"message": "hi"}).get_json()
    api("organizer").post(f"/broadcasts/{created['id']}/confirm")
    jobs = Queue("broadcasts", connection=redis_conn).job_ids
    assert f"broadcast-{created['id']}-advance" in jobs


def test_per_language_bodies_urgent_and_send_time(api, seed, session, runtime):  # type: ignore[no-untyped-def]
    seed(2)
    seed(1, language="es", start=50)
    later = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    answer = api("organizer").post(
        "/broadcasts",
        json={
            "kind": "meet",
            "message": "Thursday 7pm",
            "translations": {"es": "jueves 7pm"},
            "urgent": True,
            "send_at": later.isoformat(),
        },
    )
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert (
        body["body"]
        == "Camp Hope meeting: Thursday 7pm. Reply RSVP if you are coming. STOP to opt out."
    )
    assert body["translations"] == {
        "es": "Camp Hope reunión: jueves 7pm. Responde RSVP si vienes. ALTO para salir."
    }
    assert body["urgent"] is True and body["rsvps"] == 0
    assert datetime.fromisoformat(body["requested_at"]) == later
    confirmed = api("organizer").post(f"/broadcasts/{body['id']}/confirm").get_json()
    assert datetime.fromisoformat(confirmed["send_at"]) == later
    meetings = api("viewer").get("/meetings").get_json()
    assert [m["id"] for m in meetings["items"]] == [body["id"]] and meetings["items"][0][
        "rsvps"
    ] == 0


@pytest.mark.parametrize(
    ("request_body", "field"),
    [
        ({}, "message"),
        ({"message": "   "}, "message"),
        ({"message": "x" * 1601}, "message"),
        ({"message": "hi", "kind": "shout"}, "kind"),
        ({"message": "hi", "translations": {"fr": "salut"}}, "translations"),
        ({"message": "hi", "send_at": "2030-01-01T10:00:00"}, "send_at"),  # naive time
        ({"message": "hi", "audience": "all"}, "audience"),  # unknown field
    ],
)
def test_bad_broadcast_requests_are_422_with_field_errors(api, seed, session, request_body, field):  # type: ignore[no-untyped-def]
    seed(1)
    answer = api("organizer").post("/broadcasts", json=request_body)
    assert answer.status_code == 422
    assert field in answer.get_json()["errors"]
    assert rows(session) == []


def test_domain_refusals_are_problems(api, seed):  # type: ignore[no-untyped-def]
    nobody = api("organizer").post("/broadcasts", json={"message": "hi"})
    assert nobody.status_code == 422 and "no opted-in subscribers" in nobody.get_json()["detail"]
    seed(1)
    unknown_zone = api("organizer").post("/broadcasts", json={"message": "hi", "zone": "atlantis"})
    assert (
        unknown_zone.status_code == 422 and "ATLANTIS" in unknown_zone.get_json()["detail"].upper()
    )
    assert api("organizer").post("/broadcasts/999/confirm").status_code == 404
    assert api("organizer").post("/broadcasts/999/abort").status_code == 409
    assert api("viewer").get("/broadcasts/999").status_code == 404


# --- Idempotency-Key ------------------------------------------------------------------------


def test_same_key_and_body_return_the_same_broadcast(api, seed, session):  # type: ignore[no-untyped-def]
    seed(2)
    headers = {"Idempotency-Key": "march-42"}
    first = api("organizer").post(
        "/broadcasts", json={"message": "hello", "urgent": False}, headers=headers
    )
    # The same body with its keys in another order (and defaults spelled out) is the same request.
    second = api("organizer").post(
        "/broadcasts", json={"urgent": False, "message": "hello"}, headers=headers
    )
    assert first.status_code == 201 and second.status_code == 200
    assert first.get_json() == second.get_json()
    assert len(rows(session)) == 1
    assert (
        session.scalar(select(AuditEntry.action).where(AuditEntry.action == "broadcast.bcast"))
        is not None
    )
    assert (
        len(session.scalars(select(AuditEntry)).all()) == 1
    )  # a replay does nothing, not even audit


def test_same_key_with_another_body_is_422(api, seed, session):  # type: ignore[no-untyped-def]
    seed(2)
    headers = {"Idempotency-Key": "march-42"}
    assert (
        api("organizer").post("/broadcasts", json={"message": "hello"}, headers=headers).status_code
        == 201
    )
    other = api("organizer").post("/broadcasts", json={"message": "goodbye"}, headers=headers)
    assert other.status_code == 422 and other.mimetype == "application/problem+json"
    assert "Idempotency-Key" in other.get_json()["detail"]
    assert len(rows(session)) == 1


def test_without_a_key_each_request_makes_a_broadcast(api, seed, session):  # type: ignore[no-untyped-def]
    seed(1)
    for _ in range(2):
        assert api("organizer").post("/broadcasts", json={"message": "hello"}).status_code == 201
    assert len(rows(session)) == 2
    fresh = api("organizer").post(
        "/broadcasts", json={"message": "hello"}, headers={"Idempotency-Key": "k2"}
    )
    assert fresh.status_code == 201
    assert len(rows(session)) == 3


def test_a_refused_request_does_not_use_up_its_key(api, seed, session):  # type: ignore[no-untyped-def]
    headers = {"Idempotency-Key": "early"}
    assert (
        api("organizer").post("/broadcasts", json={"message": "hi"}, headers=headers).status_code
        == 422
    )
    seed(1)
    assert (
        api("organizer").post("/broadcasts", json={"message": "hi"}, headers=headers).status_code
        == 201
    )


def test_list_is_newest_first_and_filters(api, seed):  # type: ignore[no-untyped-def]
    seed(1)
    for kind in ("bcast", "move", "bcast"):
        api("organizer").post("/broadcasts", json={"kind": kind, "message": "x"})
    listed = api("viewer").get("/broadcasts").get_json()
    assert [b["id"] for b in listed["items"]] == [3, 2, 1]
    moves = api("viewer").get("/broadcasts", query_string={"kind": "move"}).get_json()
    assert [b["id"] for b in moves["items"]] == [2]
    assert api("viewer").get("/broadcasts", query_string={"kind": "nope"}).status_code == 422
    assert json.dumps(listed).count("+1215") == 0  # no phone numbers, ever
    assert not re.search(r"\+1\d{10}", json.dumps(listed))


@pytest.mark.parametrize("key", ["", "x" * 201, "caf\u00e9", "tab\there"])
def test_odd_idempotency_keys_are_422(api, seed, key):  # type: ignore[no-untyped-def]
    seed(1)
    answer = api("organizer").post(
        "/broadcasts", json={"message": "hi"}, headers={"Idempotency-Key": key}
    )
    assert answer.status_code == 422
