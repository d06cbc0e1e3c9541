"""Every supporter row of the SMS table, through the signed webhook."""

from __future__ import annotations

from sqlalchemy import func, select

from service.domain import keywords, sending, zones
from service.models import CampaignList, ConsentEvent, InboundMessage, Membership, Subscriber

ANA = "+12155550100"


def subscriber(session, runtime, number=ANA):  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.scalar(
        select(Subscriber).where(Subscriber.phone_hash == runtime.vault.lookup_hash(number))
    )


def test_join_reply_meets_carrier_expectations(phone):
    reply = phone(ANA).text("JOIN")
    assert "Camp Hope" in reply
    assert "Msg&data rates may apply" in reply
    assert "msgs/wk" in reply
    assert "HELP" in reply and "STOP" in reply


def test_join_in_spanish_replies_in_spanish(phone, session, runtime):
    reply = phone(ANA).text("únirme")
    assert "te uniste" in reply and "ALTO" in reply
    assert subscriber(session, runtime).language == "es"


def test_matching_forgives_case_spacing_and_punctuation(phone):
    assert "you joined" in phone(ANA).text("  join!  ")
    assert "unsubscribed" in phone(ANA).text("Stop.")


def test_join_twice_says_already_joined(phone):
    phone(ANA).text("JOIN")
    assert "already on" in phone(ANA).text("join")


def test_join_and_start_put_everyone_on_the_one_program_list(phone, session, runtime):
    phone(ANA).text("JOIN")  # the first JOIN creates the list
    assert "te uniste" in phone("+12155550101").text("unirme")  # later ones find it
    phone("+12155550102").text("STOP")
    phone("+12155550102").text("START")  # on no list yet: START puts them on it
    phone("+12155550103").text("START")  # a number never seen before too
    phone(ANA).text("JOIN")  # already on it: no second membership
    (campaign,) = session.scalars(select(CampaignList)).all()
    assert campaign.name == runtime.config.org_name
    assert session.scalar(select(func.count()).select_from(Membership)) == 4
    assert (
        session.scalar(
            select(func.count()).select_from(Membership).where(Membership.list_id == campaign.id)
        )
        == 4
    )
    # Each opt-in by JOIN or unirme names the list it joined.
    joined = session.scalars(
        select(ConsentEvent.list_id).where(ConsentEvent.kind == "opt_in").order_by(ConsentEvent.id)
    ).all()
    assert joined == [campaign.id, campaign.id, None, None, campaign.id]


def test_campaign_keyword_joins_its_list_in_its_language(phone, session, runtime):
    keywords.add_keyword(session, "huelga", "Huelga 2026", "es")
    session.commit()
    reply = phone(ANA).text("HUELGA")
    assert "Huelga 2026" in reply and "te uniste" in reply
    assert "ya estás en Huelga 2026" in phone(ANA).text("huelga")
    sub = subscriber(session, runtime)
    assert (
        session.scalar(
            select(func.count()).select_from(Membership).where(Membership.subscriber_id == sub.id)
        )
        == 1
    )


def test_every_stop_word_opts_out_with_one_confirmation(phone, session, runtime):
    words = [
        "STOP",
        "STOPALL",
        "UNSUBSCRIBE",
        "CANCEL",
        "END",
        "QUIT",
        "REVOKE",
        "OPTOUT",
        "ALTO",
        "PARAR",
        "BAJA",
        "CANCELAR",
    ]
    for index, word in enumerate(words):
        number = f"+1215555{index:04d}"
        phone(number).text("JOIN")
        reply = phone(number).text(word.lower())
        assert reply and ("unsubscribed" in reply or "baja" in reply), (word, reply)
        assert subscriber(session, runtime, number).status == "opted_out"
        assert phone(number).text(word) is None, "a second STOP must get silence"
        assert phone(number).text("hello?") is None, "opted out: silence"


def test_spanish_stop_confirms_in_spanish(phone):
    phone(ANA).text("JOIN")
    assert "te diste de baja" in phone(ANA).text("ALTO")


def test_stop_from_a_stranger_still_holds(phone, session, runtime):
    assert "unsubscribed" in phone(ANA).text("STOP")
    assert subscriber(session, runtime).status == "opted_out"


def test_start_family_opts_back_in(phone, session, runtime):
    for word in ("START", "UNSTOP", "YES"):
        phone(ANA).text("STOP")
        assert "subscribed again" in phone(ANA).text(word)
        assert subscriber(session, runtime).status == "active"


def test_consent_is_recorded_for_every_opt_in_and_out(phone, session, runtime):
    phone(ANA).text("JOIN", sid="SM" + "1" * 32)
    phone(ANA).text("STOP", sid="SM" + "2" * 32)
    phone(ANA).text("START", sid="SM" + "3" * 32)
    events = session.execute(
        select(ConsentEvent.kind, ConsentEvent.keyword, ConsentEvent.message_sid).order_by(
            ConsentEvent.id
        )
    ).all()
    assert [tuple(e) for e in events] == [
        ("opt_in", "JOIN", "SM" + "1" * 32),
        ("opt_out", "STOP", "SM" + "2" * 32),
        ("opt_in", "START", "SM" + "3" * 32),
    ]


def test_help_family(phone):
    for word in ("HELP", "info"):
        reply = phone(ANA).text(word)
        assert "Camp Hope" in reply and "+1 215 555 0199" in reply and "STOP" in reply
    assert "Habla con una persona" in phone(ANA).text("ayuda")


def test_zone_by_name_and_zip(phone, session, runtime):
    zones.add_zone(session, "North", ["19104"])
    zones.add_zone(session, "South", ["19147"])
    session.commit()
    phone(ANA).text("JOIN")
    assert "NORTH" in phone(ANA).text("zone north")
    assert "SOUTH" in phone(ANA).text("ZONA 19147-1234")
    sub = subscriber(session, runtime)
    assert sub.zone_id == zones.resolve(session, "south").id


def test_unknown_zone_lists_the_known_ones(phone, session):
    zones.add_zone(session, "North", ["19104"])
    zones.add_zone(session, "South", [])
    session.commit()
    phone(ANA).text("JOIN")
    reply = phone(ANA).text("ZONE 90210")
    assert "90210" in reply and "NORTH, SOUTH" in reply
    assert "ZONE" in phone(ANA).text("ZONE")


def test_zone_before_joining_invites_to_join(phone, session):
    zones.add_zone(session, "North", [])
    session.commit()
    assert "JOIN" in phone(ANA).text("ZONE north")


def test_language_switch(phone, session, runtime):
    phone(ANA).text("JOIN")
    assert "español" in phone(ANA).text("Español")
    assert subscriber(session, runtime).language == "es"
    assert "English" in phone(ANA).text("english")
    assert subscriber(session, runtime).language == "en"


def test_forget_erases_everything_but_the_opt_out(phone, session, runtime):
    zones.add_zone(session, "North", ["19104"])
    session.commit()
    phone(ANA).text("JOIN")
    phone(ANA).text("ZONE north")
    sub = subscriber(session, runtime)
    phone(ANA).text("my cousin was detained")
    notice = sending.queue_notice(session, runtime.vault, "Ana, see you at 6", subscriber=sub)
    session.commit()
    assert "erased" in phone(ANA).text("FORGET")
    session.expire_all()
    assert (notice.to_enc, notice.body_enc) == (None, None)
    sub = subscriber(session, runtime)
    assert sub.phone_enc is None and sub.zone_id is None and sub.status == "opted_out"
    assert sub.last_auto_reply_at is None  # not even when we last wrote back
    bodies = session.scalars(select(InboundMessage.body_enc)).all()
    assert bodies and all(body is None for body in bodies)
    assert session.scalar(select(func.count()).select_from(Membership)) == 0
    kinds = session.scalars(select(ConsentEvent.kind)).all()
    assert kinds == ["opt_out"]
    # STOP keeps holding: anything but an opt-in is answered with silence.
    assert phone(ANA).text("hello") is None
    assert phone(ANA).text("OLVIDAR") is None
    assert "you joined" in phone(ANA).text("JOIN")
    assert subscriber(session, runtime).phone_enc is not None


def test_anything_else_is_kept_with_one_auto_reply_a_day(phone, session, runtime):
    phone(ANA).text("JOIN")
    assert "organizer will read" in phone(ANA).text("the police are at the gate")
    assert phone(ANA).text("and now at the back") is None
    rows = session.scalars(select(InboundMessage).where(InboundMessage.command == "other")).all()
    assert [runtime.vault.decrypt(r.body_enc) for r in rows] == [
        "the police are at the gate",
        "and now at the back",
    ]


def test_a_stranger_writing_gets_invited_once(phone):
    assert "JOIN" in phone(ANA).text("hi who is this")
    assert phone(ANA).text("hello?") is None


def test_staff_words_from_unregistered_numbers_behave_like_any_text(phone):
    phone(ANA).text("JOIN")
    reply = phone(ANA).text("BCAST everyone come to city hall")
    assert "organizer will read" in reply
    assert phone(ANA).text("SEND 1234") is None
