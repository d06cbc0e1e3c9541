"""The admin commands: people, keywords, zones — and a clear message for bad input."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from service.models import Keyword, Person, Zone, ZoneZip


def count(session, model):  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def test_people_add_and_update(runner, session, runtime):
    result = runner.invoke(
        args=[
            "people",
            "add",
            "215-555-0123",
            "--role",
            "responder",
            "--name",
            "Ana",
            "--tier",
            "2",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "responder, tier 2, Ana" in result.output
    person = session.scalar(select(Person))
    assert runtime.vault.decrypt(person.phone_enc) == "+12155550123"
    result = runner.invoke(args=["people", "add", "+12155550123", "--role", "dispatcher"])
    assert result.exit_code == 0 and count(session, Person) == 1
    assert session.scalar(select(Person.role)) == "dispatcher"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["people", "add", "123", "--role", "organizer"], "not a valid phone number"),
        (["people", "add", "+12155550123", "--role", "king"], "'king' is not one of"),
        (["people", "add", "+12155550123", "--role", "responder", "--tier", "0"], "tier"),
        (["zone", "add", "no spaces!"], "zone name"),
        (["zone", "add", "North", "--zip", "1910"], "five digits"),
        (["keyword", "add", "STOP", "--list", "x"], "reserved"),
        (["keyword", "add", "two words", "--list", "x"], "one word"),
        (["keyword", "add", "HUELGA", "--list", "x", "--lang", "fr"], "'fr' is not one of"),
    ],
)
def test_bad_input_gets_a_message_not_a_traceback(runner, session, args, message):
    result = runner.invoke(args=args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert count(session, Person) == count(session, Zone) == count(session, Keyword) == 0


def test_zone_add_with_zips_and_conflicts(runner, session):
    assert (
        runner.invoke(args=["zone", "add", "North", "--zip", "19104", "--zip", "19103"]).exit_code
        == 0
    )
    assert count(session, ZoneZip) == 2
    result = runner.invoke(args=["zone", "add", "South", "--zip", "19147", "--zip", "19104"])
    assert result.exit_code != 0 and "already belongs to zone NORTH" in result.output
    # Nothing half written: South and 19147 were rolled back with the conflict.
    assert count(session, Zone) == 1 and count(session, ZoneZip) == 2


def test_keyword_add_then_texting_it_joins(runner, phone):
    result = runner.invoke(
        args=["keyword", "add", "huelga", "--list", "Huelga 2026", "--lang", "es"]
    )
    assert result.exit_code == 0, result.output
    assert "Huelga 2026" in phone("+12155550100").text("HUELGA")
    assert (
        "already exists" in runner.invoke(args=["keyword", "add", "HUELGA", "--list", "y"]).output
    )


def test_db_upgrade_is_repeatable(runner):
    for _ in range(2):
        result = runner.invoke(args=["db", "upgrade"])
        assert result.exit_code == 0 and "up to date" in result.output
