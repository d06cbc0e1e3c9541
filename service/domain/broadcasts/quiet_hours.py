"""Quiet hours: when a non-urgent broadcast may start.

QUIET_HOURS is a span of local wall-clock time in TIMEZONE, e.g. 21:00-08:00
(crossing midnight) or 13:00-14:00. A broadcast confirmed inside the span waits
for its end; an urgent one (MOVE, or marked urgent) goes now. One still going
out when the span begins pauses until it ends, as texting tools that keep
texting hours (Spoke) hold each text to them, not only the first.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.orm import Session

from service.models.broadcasts import Broadcast

# QUIET_HOURS (None: none) and the TIMEZONE they are in.
QuietHours = tuple[tuple[time, time] | None, ZoneInfo]


def is_quiet(moment: datetime, quiet_hours: tuple[time, time] | None, zone: ZoneInfo) -> bool:
    if quiet_hours is None:
        return False
    start, end = quiet_hours
    local = moment.astimezone(zone).time().replace(tzinfo=None)
    if start == end:
        return False  # an empty span, not a whole day of silence
    if start < end:
        return start <= local < end
    return local >= start or local < end


def next_allowed(
    moment: datetime, quiet_hours: tuple[time, time] | None, zone: ZoneInfo
) -> datetime:
    """`moment` itself when it is outside quiet hours, else the end of the quiet span (UTC)."""
    if not is_quiet(moment, quiet_hours, zone):
        return moment
    assert quiet_hours is not None
    end = quiet_hours[1]
    local = moment.astimezone(zone)
    candidate = datetime.combine(local.date(), end, tzinfo=zone)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), end, tzinfo=zone)
    # A wall-clock time skipped by a DST jump normalises forward through UTC.
    return candidate.astimezone(UTC)


def pause_sending(
    session: Session,
    quiet_hours: tuple[time, time] | None,
    zone: ZoneInfo,
    now: datetime,
    broadcast_id: int | None = None,
) -> list[int]:
    """Inside quiet hours, send the non-urgent broadcasts still going out (or just the
    one given) back to scheduled, due when the span ends; returns their ids.

    Nothing more is claimed from the moment this commits; the workers' watchers see
    it within a fraction of a second and put the texts they hold back in the queue.
    The clock starts the broadcast again at its new time, where planning and the
    chunks left off.
    """
    if not is_quiet(now, quiet_hours, zone):
        return []
    which = () if broadcast_id is None else (Broadcast.id == broadcast_id,)
    return list(
        session.scalars(
            update(Broadcast)
            .where(Broadcast.state == "sending", Broadcast.urgent.is_(False), *which)
            .values(state="scheduled", send_at=next_allowed(now, quiet_hours, zone), updated_at=now)
            .returning(Broadcast.id)
            .execution_options(synchronize_session=False)
        )
    )
