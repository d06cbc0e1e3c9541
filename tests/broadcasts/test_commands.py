"""The organizer commands through the signed webhook: preview, SEND, ABORT, STATUS, RSVP."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from service.domain import zones
from service.domain.broadcasts import planning, quiet_hours
from service.domain.broadcasts.sender import advance
from service.models import OutboundMessage
from service.models.broadcasts import Broadcast
from tests.broadcasts.conftest import ORGANIZER

ANA = "+12155550100"


def code_of(reply: str) -> str:
    found = re.search(r"SEND (\d{4})", reply)
    assert found, reply
    return found.group(1)


def broadcasts(session):  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.scalars(select(Broadcast).order_by(Broadcast.id)).all()


def test_bcast_previews_count_segments_cost_and_a_code(phone, organizer, seed, session):
    seed(3)
    reply = phone(ORGANIZER).text("BCAST March at noon, City Hall steps")
    assert "3 people" in reply and "everyone" in reply
    assert "1 segment(s) each (GSM-7)" in reply
    assert "$0.02" in reply  # 3 x 1 segment x $0.0083
    assert "within 10 min" in reply
    [broadcast] = broadcasts(session)
    assert broadcast.state == "preview" and broadcast.code == code_of(reply)


def test_unicode_and_long_texts_cost_more_segments(phone, organizer, seed):
    seed(2)
    reply = phone(ORGANIZER).text("BCAST Marcha mañana “todos” " + "x" * 60)
    assert "2 segment(s) each (UCS-2)" in reply


def test_send_with_the_code_schedules_it_once(phone, organizer, seed, session):
    seed(2)
    code = code_of(phone(ORGANIZER).text("BCAST hello everyone"))
    assert "sending #" in phone(ORGANIZER).text(f"SEND {code}")
    [broadcast] = broadcasts(session)
    assert broadcast.state == "scheduled" and broadcast.send_at is not None
    assert "already confirmed" in phone(ORGANIZER).text(f"SEND {code}")
    assert broadcasts(session)[0].state == "scheduled"


def test_wrong_code_is_refused_and_five_wrong_codes_cancel(phone, organizer, seed, session):
    seed(1)
    code = code_of(phone(ORGANIZER).text("BCAST hello"))
    wrong = "1000" if code != "1000" else "1001"
    assert "matches none" in phone(ORGANIZER).text(f"SEND {wrong}")
    assert "reply SEND and the code" in phone(ORGANIZER).text("SEND")
    for _ in range(3):
        phone(ORGANIZER).text(f"SEND {wrong}")
    assert "cancelled" in phone(ORGANIZER).text(f"SEND {wrong}")
    assert "replaced" in phone(ORGANIZER).text(f"SEND {code}")
    assert broadcasts(session)[0].state == "cancelled"


def test_stale_code_is_refused(phone, organizer, seed, session):
    seed(1)
    code = code_of(phone(ORGANIZER).text("BCAST hello"))
    [broadcast] = broadcasts(session)
    broadcast.code_expires_at = broadcast.created_at - timedelta(seconds=1)
    session.commit()
    assert "expired" in phone(ORGANIZER).text(f"SEND {code}")
    assert broadcasts(session)[0].state == "cancelled"


def test_code_of_another_organizer_is_refused(phone, organizer, seed, session, runtime):
    from service.domain import people

    people.register(session, runtime.vault, "+12155550122", "organizer")
    session.commit()
    seed(1)
    code = code_of(phone(ORGANIZER).text("BCAST hello"))
    assert "matches none" in phone("+12155550122").text(f"SEND {code}")


def test_a_new_preview_replaces_the_last(phone, organizer, seed, session):
    seed(1)
    first = code_of(phone(ORGANIZER).text("BCAST one"))
    phone(ORGANIZER).text("BCAST two")
    assert "replaced" in phone(ORGANIZER).text(f"SEND {first}")


def test_unregistered_sender_gets_supporter_behaviour(phone, seed, session):
    seed(1)
    phone(ANA).text("JOIN")
    for body in ("BCAST hello all", "SEND 1234", "ABORT", "STATUS", "MOVE to the park"):
        reply = phone(ANA).text(body)
        assert reply is None or "organizer will read" in reply
    assert broadcasts(session) == []


def test_responders_cannot_broadcast(phone, session, runtime, seed):
    from service.domain import people

    people.register(session, runtime.vault, "+12155550133", "responder")
    session.commit()
    seed(1)
    reply = phone("+12155550133").text("BCAST hi")
    assert reply is None or "preview" not in reply
    assert broadcasts(session) == []


def test_bcast_to_a_zone_counts_only_its_latest_members(phone, organizer, seed, session):
    north = zones.add_zone(session, "north", ["19104"])
    session.commit()
    seed(2, zone_id=north.id)
    seed(5, start=100)
    reply = phone(ORGANIZER).text("BCAST @north Rally at the library")
    assert "zone NORTH, 2 people" in reply
    assert "no zone" in phone(ORGANIZER).text("BCAST @south hello")


def test_usage_and_nobody(phone, organizer):
    assert "BCAST needs a message" in phone(ORGANIZER).text("BCAST")
    assert "MOVE needs" in phone(ORGANIZER).text("MOVE")
    assert "nobody would get this" in phone(ORGANIZER).text("BCAST hello")


def test_quiet_hours_delay_bcast_but_not_move(app, phone, organizer, seed, session, runtime):
    runtime.config = replace(
        runtime.config, quiet_hours=(time(0, 0), time(23, 59)), timezone=runtime.config.timezone
    )
    seed(1)
    reply = phone(ORGANIZER).text("BCAST tomorrow we march")
    assert "Quiet hours" in reply
    assert "will go out at" in phone(ORGANIZER).text(f"SEND {code_of(reply)}")
    move = phone(ORGANIZER).text("MOVE Corner of 5th and Main")
    assert "MOVE (urgent)" in move and "Quiet hours" not in move
    assert "sending #" in phone(ORGANIZER).text(f"SEND {code_of(move)}")
    urgent = phone(ORGANIZER).text("BCAST URGENT police at the north gate")
    assert "Quiet hours" not in urgent


def test_status_says_when_quiet_hours_paused_a_broadcast(phone, organizer, seed, session, runtime):
    seed(3)
    phone(ORGANIZER).text(f"SEND {code_of(phone(ORGANIZER).text('BCAST we march at noon'))}")
    [broadcast_id] = [b.id for b in broadcasts(session)]
    advance(runtime.database, broadcast_id, lambda ids: None, lambda at: None)
    night = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)  # 22:00 in New York
    with runtime.database.session() as writer:
        span = (time(21, 0), time(8, 0))
        assert quiet_hours.pause_sending(writer, span, runtime.config.timezone, night)
    status = phone(ORGANIZER).text("STATUS")
    assert "paused for quiet hours until" in status and "3 queued" in status


def test_move_and_meet_use_the_standard_notices_in_each_language(
    phone, organizer, seed, session, runtime
):
    seed(1)
    phone(ORGANIZER).text("MOVE Corner of 5th and Main")
    [move] = broadcasts(session)
    from service.domain.broadcasts.preview import bodies

    default, translations = bodies(runtime.vault, move)
    assert "we moved" in default and "Corner of 5th and Main" in default
    assert "nos movimos" in translations["es"]
    assert move.urgent and move.validity_period == 1800


def test_abort_and_status(phone, organizer, seed, session):
    seed(3)
    assert "no broadcast has been sent" in phone(ORGANIZER).text("STATUS")
    assert "no broadcast is in flight" in phone(ORGANIZER).text("ABORT")
    code = code_of(phone(ORGANIZER).text("BCAST hello"))
    phone(ORGANIZER).text(f"SEND {code}")
    assert "scheduled" in phone(ORGANIZER).text("STATUS") or "sending" in phone(ORGANIZER).text(
        "STATUS"
    )
    reply = phone(ORGANIZER).text("ABORT")
    assert "stopped" in reply and "0 went out" in reply
    assert "aborted" in phone(ORGANIZER).text("STATUS")
    assert broadcasts(session)[0].state == "aborted"


def test_rsvp_counts_once_for_the_latest_meeting_told(phone, organizer, seed, session, runtime):
    phone(ANA).text("JOIN")
    assert "no meeting" in phone(ANA).text("RSVP")
    code = code_of(phone(ORGANIZER).text("MEET Thursday 7pm, church hall, planning"))
    phone(ORGANIZER).text(f"SEND {code}")
    [meeting] = broadcasts(session)
    # Plan and "send" it by hand: the ledger row says ANA was told.
    with runtime.database.session() as s:
        planning.start_if_due(s, meeting.id, meeting.send_at)
    with runtime.database.session() as s:
        planning.plan_batch(s, meeting.id, "t", meeting.send_at)
    with runtime.database.session() as s:
        s.execute(
            OutboundMessage.__table__.update()
            .where(OutboundMessage.broadcast_id == meeting.id)
            .values(status="sent")
        )
    assert "RSVP is counted" in phone(ANA).text("rsvp")
    assert "already RSVP" in phone(ANA).text("RSVP")
    assert ", 1 RSVP" in phone(ORGANIZER).text("STATUS")
    phone(ANA).text("STOP")
    assert phone(ANA).text("RSVP") is None
    # FORGET erases the RSVP too: who said they would come is about them.
    phone(ANA).text("FORGET")
    assert ", 0 RSVP" in phone(ORGANIZER).text("STATUS")


@pytest.mark.parametrize("body", ["BCAST", "bcast   ", "Bcast @"])
def test_odd_bcast_input_gets_a_reply_not_an_error(phone, organizer, body):
    assert phone(ORGANIZER).text(body)
