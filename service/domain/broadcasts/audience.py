"""Who a broadcast reaches: every opted-in subscriber, or those whose latest zone is the
given one. Pages are keyset pages on the subscriber id, so planning an audience of any
size keeps memory flat and never skips or repeats anyone."""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from service.models import Subscriber


def eligible(zone_id: int | None) -> list[ColumnElement[bool]]:
    """The filter every audience query shares (a forgotten number has no phone)."""
    conditions: list[ColumnElement[bool]] = [
        Subscriber.status == "active",
        Subscriber.phone_enc.is_not(None),
    ]
    if zone_id is not None:
        conditions.append(Subscriber.zone_id == zone_id)
    return conditions


def count_by_language(session: Session, zone_id: int | None) -> dict[str, int]:
    rows = session.execute(
        select(Subscriber.language, func.count())
        .where(*eligible(zone_id))
        .group_by(Subscriber.language)
    )
    return {language: count for language, count in rows}


def next_page(session: Session, zone_id: int | None, after_id: int, limit: int) -> list[int]:
    """Up to `limit` eligible subscriber ids greater than `after_id`, ascending."""
    return list(
        session.scalars(
            select(Subscriber.id)
            .where(*eligible(zone_id), Subscriber.id > after_id)
            .order_by(Subscriber.id)
            .limit(limit)
        )
    )
