"""Rows the tests start from, written the way the app writes them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from service.models import Subscriber, utcnow
from service.vault import Vault


def add_subscriber(session: Session, vault: Vault, number: str, **fields: object) -> Subscriber:
    """An opted-in subscriber with ``number`` (E.164), encrypted and hashed like a JOIN does."""
    now = utcnow()
    subscriber = Subscriber(
        phone_hash=vault.lookup_hash(number),
        phone_enc=vault.encrypt(number),
        status="active",
        created_at=now,
        status_changed_at=now,
    )
    for name, value in fields.items():
        setattr(subscriber, name, value)
    session.add(subscriber)
    session.flush()
    return subscriber
