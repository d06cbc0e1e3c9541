"""Keyset pages for every API list: the cursor is the last key seen, never an offset.

A cursor stays valid while rows are added or removed, and a page costs one
indexed range scan however deep into the list it is.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from service.errors import InvalidInput

T = TypeVar("T")
MAX_LIMIT = 100


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    next_cursor: str | None


def encode(key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps([key]).encode()).decode().rstrip("=")


def decode(cursor: str, kind: type) -> Any:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        [key] = json.loads(raw)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise InvalidInput("cursor is not one this API gave out") from None
    if type(key) is not kind:
        raise InvalidInput("cursor is not one this API gave out")
    return key


def page(
    session: Session,
    query: Select[Any],
    key: InstrumentedAttribute[Any],
    cursor: str | None,
    limit: int,
    *,
    newest_first: bool = False,
) -> Page[Any]:
    """Rows of ``query`` after ``cursor``, ordered by ``key`` (unique), at most ``limit``."""
    limit = max(1, min(limit, MAX_LIMIT))
    kind = key.type.python_type
    if cursor:
        after = decode(cursor, kind)
        query = query.where(key < after if newest_first else key > after)
    query = query.order_by(key.desc() if newest_first else key).limit(limit + 1)
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode(getattr(rows[-1], key.key)) if more and rows else None
    return Page(rows, next_cursor)
