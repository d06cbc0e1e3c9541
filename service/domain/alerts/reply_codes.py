"""Per-person reply codes: the 3 in "Reply 3A to acknowledge" (GoAlert's scheme).

A code belongs to one person and points at one alert. It is held until the
alert closes and then for COOLDOWN more, so a late "3A" reaches the alert it
was printed for or is told that alert is closed, never a newer alert that took
its number. Each person's codes start at 1, so the numbers stay short.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.errors import Conflict
from service.models import ReplyCode

COOLDOWN = timedelta(hours=1)
MAX_CODE = 999  # the parser reads up to three digits


def assign_many(
    session: Session, person_ids: list[int], alert_id: int, now: datetime
) -> dict[int, int]:
    """A code for each person for this alert (the one they already hold, or the lowest free)."""
    if not person_ids:
        return {}
    held: dict[int, dict[int, ReplyCode]] = {pid: {} for pid in person_ids}
    for row in session.scalars(select(ReplyCode).where(ReplyCode.person_id.in_(person_ids))):
        held[row.person_id][row.number] = row
    codes: dict[int, int] = {}
    fresh: dict[int, int] = {}  # person -> a number they never held: one bulk INSERT
    for person_id in person_ids:
        mine = [n for n, row in held[person_id].items() if row.alert_id == alert_id]
        if mine:
            codes[person_id] = mine[0]
        elif (number := _lowest_free(held[person_id], now)) <= MAX_CODE and number not in held[
            person_id
        ]:
            fresh[person_id] = number
        else:
            codes[person_id] = _take(session, person_id, alert_id, now, held)
    if fresh:
        try:
            with session.begin_nested():
                session.execute(
                    insert(ReplyCode),
                    [
                        {"person_id": p, "number": n, "alert_id": alert_id, "assigned_at": now}
                        for p, n in fresh.items()
                    ],
                )
            codes.update(fresh)
        except IntegrityError:
            # Another alert paged one of them at the same moment: one by one instead.
            for person_id in fresh:
                codes[person_id] = _take(session, person_id, alert_id, now, held)
    return codes


def _lowest_free(rows: dict[int, ReplyCode], now: datetime) -> int:
    """The lowest number not held (or held by an alert closed longer than the cooldown)."""
    cutoff = now - COOLDOWN
    for number in range(1, MAX_CODE + 1):
        row = rows.get(number)
        if row is None or (row.released_at is not None and row.released_at <= cutoff):
            return number
    return MAX_CODE + 1


def _take(
    session: Session,
    person_id: int,
    alert_id: int,
    now: datetime,
    held: dict[int, dict[int, ReplyCode]],
) -> int:
    cutoff = now - COOLDOWN
    rows = held[person_id]
    for number in range(1, MAX_CODE + 1):
        row = rows.get(number)
        if row is None:
            try:
                with session.begin_nested():
                    session.execute(
                        insert(ReplyCode).values(
                            person_id=person_id, number=number, alert_id=alert_id, assigned_at=now
                        )
                    )
            except IntegrityError:
                continue  # another alert paging this person took it a moment ago
            return number
        if row.released_at is not None and row.released_at <= cutoff:
            # Conditional: only if it is still released (another alert may be taking it).
            taken = session.execute(
                update(ReplyCode)
                .where(
                    ReplyCode.person_id == person_id,
                    ReplyCode.number == number,
                    ReplyCode.released_at.is_not(None),
                    ReplyCode.released_at <= cutoff,
                )
                .values(alert_id=alert_id, assigned_at=now, released_at=None)
                .execution_options(synchronize_session=False)
            ).rowcount
            if taken:
                return number
    raise Conflict("this person holds every reply code; close some alerts first")


def lookup(session: Session, person_id: int, number: int) -> ReplyCode | None:
    return session.get(ReplyCode, (person_id, number), populate_existing=True)


def code_of(session: Session, person_id: int, alert_id: int) -> int | None:
    return session.scalar(
        select(ReplyCode.number).where(
            ReplyCode.person_id == person_id, ReplyCode.alert_id == alert_id
        )
    )


def codes_for_alert(session: Session, alert_id: int) -> dict[int, int]:
    """person id -> their code for this alert."""
    rows = session.execute(
        select(ReplyCode.person_id, ReplyCode.number).where(ReplyCode.alert_id == alert_id)
    )
    return {person_id: number for person_id, number in rows}


def open_codes(session: Session, person_id: int) -> list[int]:
    return list(
        session.scalars(
            select(ReplyCode.number)
            .where(ReplyCode.person_id == person_id, ReplyCode.released_at.is_(None))
            .order_by(ReplyCode.number)
        )
    )


def release(session: Session, alert_id: int, now: datetime) -> None:
    """The alert closed: its codes become reusable after the cooldown."""
    session.execute(
        update(ReplyCode)
        .where(ReplyCode.alert_id == alert_id, ReplyCode.released_at.is_(None))
        .values(released_at=now)
        .execution_options(synchronize_session=False)
    )
