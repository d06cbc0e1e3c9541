"""API fixtures: a token per role, a client that sends it, organizers and subscribers."""

from __future__ import annotations

from typing import Any

import pytest

from service.domain import people, tokens
from service.models import utcnow
from service.models.api import TOKEN_ROLES
from tests.broadcasts.seeding import seed_subscribers

ORGANIZER_PHONE = "+12155550111"
DISPATCHER_PHONE = "+12155550122"


class Api:
    """The test client with a bearer token (or none)."""

    def __init__(self, client: Any, secret: str | None) -> None:
        self.client = client
        self.secret = secret

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.secret}"} if self.secret else {}
        return {**headers, **(extra or {})}

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(
            "/api/v1" + path, headers=self.headers(kwargs.pop("headers", None)), **kwargs
        )

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.client.post(
            "/api/v1" + path, json=json, headers=self.headers(kwargs.pop("headers", None)), **kwargs
        )

    def patch(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.client.patch(
            "/api/v1" + path, json=json, headers=self.headers(kwargs.pop("headers", None)), **kwargs
        )

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.client.delete(
            "/api/v1" + path, headers=self.headers(kwargs.pop("headers", None)), **kwargs
        )


@pytest.fixture
def organizer_person(session, runtime):  # type: ignore[no-untyped-def]
    person = people.register(session, runtime.vault, ORGANIZER_PHONE, "organizer", name="Rosa")
    session.commit()
    return person


@pytest.fixture
def dispatcher_person(session, runtime):  # type: ignore[no-untyped-def]
    person = people.register(session, runtime.vault, DISPATCHER_PHONE, "dispatcher", name="Dee")
    session.commit()
    return person


@pytest.fixture
def secrets(runtime, organizer_person, dispatcher_person):  # type: ignore[no-untyped-def]
    """role -> bearer token; the organizer's and dispatcher's tokens act for those people."""
    acts_for = {"organizer": organizer_person.id, "dispatcher": dispatcher_person.id}
    made = {}
    with runtime.database.session() as db:
        for role in TOKEN_ROLES:
            made[role] = tokens.create(
                db, role, utcnow(), name=f"{role} test", person_id=acts_for.get(role)
            ).secret
    return made


@pytest.fixture
def api(client, secrets):  # type: ignore[no-untyped-def]
    """``api("organizer").post("/broadcasts", json={...})``; ``api(None)`` sends no token."""
    return lambda role: Api(client, secrets[role] if role else None)


@pytest.fixture
def seed(runtime):  # type: ignore[no-untyped-def]
    def make(count: int, **kwargs):  # type: ignore[no-untyped-def]
        return seed_subscribers(runtime.database, runtime.vault, count, **kwargs)

    return make
