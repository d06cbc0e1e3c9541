"""Bulk-insert opted-in subscribers (numbers encrypted by the vault), for tests and benches.

Thousands of JOIN webhook calls would test the webhook, not the broadcast; this
writes the same rows in a few statements.
"""

from __future__ import annotations

from sqlalchemy import insert

from service.database import Database
from service.models import Subscriber, utcnow
from service.vault import Vault


def numbers(count: int, start: int = 0) -> list[str]:
    """Distinct valid-looking US numbers: +1 215 2xx xxxx from `start` on."""
    return [f"+1215{2000000 + start + i:07d}" for i in range(count)]


def seed_subscribers(
    database: Database,
    vault: Vault,
    count: int,
    *,
    zone_id: int | None = None,
    language: str = "en",
    start: int = 0,
    batch: int = 5000,
) -> list[str]:
    phones = numbers(count, start)
    now = utcnow()
    for offset in range(0, count, batch):
        rows = [
            {
                "phone_hash": vault.lookup_hash(phone),
                "phone_enc": vault.encrypt(phone),
                "status": "active",
                "language": language,
                "zone_id": zone_id,
                "created_at": now,
                "status_changed_at": now,
            }
            for phone in phones[offset : offset + batch]
        ]
        with database.session() as session:
            session.execute(insert(Subscriber), rows)
    return phones
