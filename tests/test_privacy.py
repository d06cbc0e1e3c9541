"""Invariant 7: no phone number or message body readable from a database dump or the logs."""

from __future__ import annotations

import logging

from sqlalchemy import MetaData, select

from service.domain import sending, zones
from service.logs import MaskPhoneNumbers
from service.models import Subscriber

NUMBERS = ["+12155550100", "+12155550177", "+13125550142"]
SECRET_BODY = "ICE van parked outside Saint Mary church"


def dump(runtime) -> str:  # type: ignore[no-untyped-def]
    """Every row of every table, as text: what a subpoena or a leaked backup would show."""
    metadata = MetaData()
    metadata.reflect(runtime.database.engine)
    lines = []
    with runtime.database.engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        lines.append(bytes(value).decode("latin-1"))
                    else:
                        lines.append(str(value))
    return "\n".join(lines)


def digits_variants(number: str) -> list[str]:
    national = number[2:]
    return [
        number,
        national,
        f"({national[:3]}) {national[3:6]}-{national[6:]}",
        f"{national[:3]}-{national[3:6]}-{national[6:]}",
    ]


def test_database_dump_and_logs_show_no_number_and_no_body(phone, session, runtime, caplog):
    caplog.set_level(logging.DEBUG)
    for handler in [caplog.handler]:
        handler.addFilter(MaskPhoneNumbers())
    zones.add_zone(session, "North", ["19104"])
    session.commit()
    for number in NUMBERS:
        phone(number).text("JOIN")
        phone(number).text("ZONE 19104")
        phone(number).text(SECRET_BODY)
        logging.getLogger("rallyline.test").info("texted from %s", number)
    subscriber = session.scalar(select(Subscriber))
    sending.queue_notice(session, runtime.vault, SECRET_BODY, subscriber=subscriber)
    sending.queue_notice(session, runtime.vault, SECRET_BODY, to=NUMBERS[2])
    session.commit()
    phone(NUMBERS[1]).text("STOP")
    phone(NUMBERS[2]).text("FORGET")

    text = dump(runtime) + "\n" + caplog.text
    assert "texted from ***00" in caplog.text, "the log line is there, masked"
    for number in NUMBERS:
        for variant in digits_variants(number):
            assert variant not in text, variant
    assert "Saint Mary" not in text


def test_the_mask_filter_masks_any_number_like_thing():
    record = logging.LogRecord(
        "x",
        logging.INFO,
        __file__,
        1,
        "from %s and 2155550123, job took 0:00:00.679586",
        ("+12155550199",),
        None,
    )
    MaskPhoneNumbers().filter(record)
    assert record.getMessage() == "from ***99 and ***23, job took 0:00:00.679586"
