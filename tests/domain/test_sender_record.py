"""The sender's row as handlers see it: read once, written back once, only what changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select

from service.domain.context import SenderRecord, SmsContext
from service.models import Subscriber, utcnow

NUMBER = "+12155550142"


def _context(runtime, session) -> SmsContext:  # type: ignore[no-untyped-def]
    return SmsContext(
        session=session,
        vault=runtime.vault,
        config=runtime.config,
        message_sid="SM" + "1" * 32,
        phone=NUMBER,
        phone_hash=runtime.vault.lookup_hash(NUMBER),
        body="ZONE north",
        now=utcnow(),
    )


def _updates(runtime) -> list[str]:  # type: ignore[no-untyped-def]
    seen: list[str] = []
    event.listen(
        runtime.database.engine,
        "before_cursor_execute",
        lambda _c, _cur, statement, *_: (
            seen.append(statement) if statement.startswith("UPDATE subscribers") else None
        ),
    )
    return seen


def test_a_new_sender_is_inserted_at_once_and_changes_are_written_back_together(runtime) -> None:
    updates = _updates(runtime)
    with runtime.database.session() as session:
        ctx = _context(runtime, session)
        sender = ctx.subscriber_or_create(language="es")
        assert sender.id is not None and sender.changes == {}
        sender.status = "opted_out"
        sender.language = "es"  # unchanged: not written
        later = ctx.now + timedelta(seconds=1)
        sender.status_changed_at = later
        assert sender.changes == {"status": "opted_out", "status_changed_at": later}
        ctx.save_sender()
        assert sender.changes == {}
        ctx.save_sender()  # nothing left to write

    assert len(updates) == 1
    assert "language" not in updates[0] and "status=" in updates[0]
    with runtime.database.session(immediate=False) as session:
        stored = session.scalar(select(Subscriber).where(Subscriber.id == sender.id))
        assert stored is not None
        assert (stored.status, stored.language) == ("opted_out", "es")
        assert stored.status_changed_at == later
        assert runtime.vault.decrypt(stored.phone_enc) == NUMBER


def test_an_unchanged_sender_costs_no_update(runtime) -> None:
    with runtime.database.session() as session:
        _context(runtime, session).subscriber_or_create()
    updates = _updates(runtime)
    with runtime.database.session() as session:
        ctx = _context(runtime, session)
        sender = ctx.subscriber
        assert isinstance(sender, SenderRecord) and sender.status == "active"
        sender.status = "active"
        ctx.save_sender()
    assert updates == []


def test_a_name_that_is_not_a_column_fails_loudly(runtime) -> None:
    with runtime.database.session() as session:
        sender = _context(runtime, session).subscriber_or_create()
        with pytest.raises(AttributeError):
            sender.zone = "north"  # type: ignore[attr-defined]
