"""Helpers for broadcast tests: organizers, and subscribers seeded straight into the database."""

from __future__ import annotations

import pytest

from service.domain import people
from tests.broadcasts.seeding import seed_subscribers

ORGANIZER = "+12155550111"


@pytest.fixture
def organizer(session, runtime):  # type: ignore[no-untyped-def]
    person = people.register(session, runtime.vault, ORGANIZER, "organizer", name="Rosa")
    session.commit()
    return person


@pytest.fixture
def seed(runtime):  # type: ignore[no-untyped-def]
    """``seed(100, zone_id=None, language="en")`` -> list of phone numbers."""

    def make(count: int, **kwargs):  # type: ignore[no-untyped-def]
        return seed_subscribers(runtime.database, runtime.vault, count, **kwargs)

    return make
