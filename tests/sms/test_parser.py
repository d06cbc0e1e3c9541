"""The SMS parser: every word of DESIGN.md's table, forgiving case, spacing, punctuation, accents."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.sms.parser import OPT_OUT, STAFF_WORDS, fold, parse


@pytest.mark.parametrize("word", sorted(OPT_OUT))
@pytest.mark.parametrize("dress", ["{}", "{} ", "  {}.", "{}!!", "'{}'"])
def test_every_opt_out_word_in_any_dress(word, dress):
    for variant in (word, word.lower(), word.title()):
        assert parse(dress.format(variant)).name == "stop"


@pytest.mark.parametrize(
    ("text", "name", "language"),
    [
        ("JOIN", "join", "en"),
        ("unirme", "join", "es"),
        ("Únirme", "join", "es"),
        ("START", "start", None),
        ("unstop", "start", None),
        ("Yes", "start", None),
        ("HELP", "help", None),
        ("info", "help", None),
        ("AYUDA", "help", "es"),
        ("ENGLISH", "language", "en"),
        ("espanol", "language", "es"),
        ("Español", "language", "es"),
        ("FORGET", "forget", "en"),
        ("olvidar", "forget", "es"),
        ("RSVP", "rsvp", None),
        ("stop texting me", "stop", None),
        ("please stop", "stop", None),
        ("alto por favor", "stop", "es"),
        ("STOP ALL", "stop", None),
        ("opt out", "stop", None),
    ],
)
def test_supporter_words(text, name, language):
    command = parse(text)
    assert (command.name, command.language) == (name, language)


def test_zone_keeps_its_argument_as_typed():
    assert parse("zone  North Philly").arg == "North Philly"
    assert parse("ZONA 19104").name == "zone" and parse("ZONA 19104").language == "es"


def test_report_keeps_what_and_where():
    command = parse("REPORTAR ICE van en la calle 5")
    assert (command.name, command.arg, command.language) == (
        "report",
        "ICE van en la calle 5",
        "es",
    )


@pytest.mark.parametrize(
    "text", ["end of the march", "cancel the meeting?", "quit your job and join us", "yes we can"]
)
def test_weak_opt_out_words_inside_sentences_are_not_opt_outs(text):
    assert parse(text).name == "other"


def test_staff_commands_that_contain_stop_are_not_opt_outs():
    assert parse("BCAST stop the sweep").name == "bcast"
    assert parse("REPORT stop sign knocked down").name == "report"


def test_bcast_and_alert_take_an_optional_zone():
    command = parse("BCAST @north Camp moved to City Hall")
    assert (command.name, command.zone, command.arg) == (
        "bcast",
        "north",
        "Camp moved to City Hall",
    )
    assert parse("ALERT raid on 5th st").zone is None
    assert parse("alert @SOUTH raid").zone == "SOUTH"


@pytest.mark.parametrize(
    ("text", "number", "action"),
    [
        ("3A", 3, "A"),
        ("3a", 3, "A"),
        (" 3 a ", 3, "A"),
        ('"3A"', 3, "A"),
        ("'12c'", 12, "C"),
        ("7E", 7, "E"),
        ("a", None, "A"),
        ("A.", None, "A"),
    ],
)
def test_reply_codes(text, number, action):
    command = parse(text)
    assert (command.name, command.number, command.action) == ("reply_code", number, action)


@pytest.mark.parametrize("text", ["C", "E", "Ha", "3X", "AA", "1234A", "3 A B"])
def test_things_that_are_not_reply_codes(text):
    assert parse(text).name != "reply_code"


def test_campaign_keywords_join():
    assert parse("huelga", lambda word: word == "HUELGA").name == "join"
    assert parse("huelga").name == "other"
    assert parse("huelga now", lambda word: True).name == "other"


def test_fold():
    assert fold("  Ñandú   ÜBER\tcafé ") == "NANDU UBER CAFE"


@given(st.text(max_size=300))
def test_parse_never_fails_and_always_names_a_known_command(text):
    known = {
        "join",
        "stop",
        "start",
        "help",
        "zone",
        "rsvp",
        "report",
        "language",
        "forget",
        "other",
        "reply_code",
    } | {w.lower() for w in STAFF_WORDS}
    assert parse(text).name in known


@given(
    st.sampled_from(sorted(OPT_OUT)),
    st.text(alphabet=" .!?'\"\t", max_size=5),
    st.text(alphabet=" .!?'\"\t", max_size=5),
)
def test_opt_out_words_win_whatever_surrounds_them(word, before, after):
    assert parse(before + word.lower() + after).name == "stop"


@given(st.text(alphabet=st.characters(codec="ascii"), max_size=200))
def test_parsing_is_case_insensitive(text):
    assert parse(text.upper()).name == parse(text.lower()).name
