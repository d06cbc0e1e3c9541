"""API bearer tokens: created with a role, shown once, kept only as a hash, revocable.

A token is 32 random bytes, so a plain SHA-256 is enough to keep it (nothing to
brute-force, unlike a password) and lets a request find its row with one indexed
look-up.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.errors import Conflict, InvalidInput, NotFound
from service.models import Person
from service.models.api import TOKEN_ROLES, ApiToken
from service.phones import InvalidPhoneNumber, normalize
from service.vault import Vault

PREFIX = "rl_"


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # the bearer token itself: shown to its owner once, never stored


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create(
    session: Session,
    role: str,
    now: datetime,
    *,
    name: str = "",
    person_id: int | None = None,
) -> NewToken:
    if role not in TOKEN_ROLES:
        raise InvalidInput(f"role must be one of {', '.join(TOKEN_ROLES)}, not {role!r}")
    if len(name) > 60:
        raise InvalidInput("name must be at most 60 characters")
    if person_id is not None and session.get(Person, person_id) is None:
        raise InvalidInput(f"there is no person #{person_id}")
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name,
        role=role,
        token_hash=digest(secret),
        prefix=secret[:10],
        person_id=person_id,
        created_at=now,
    )
    session.add(token)
    session.flush()
    return NewToken(token, secret)


def person_by_phone(session: Session, vault: Vault, phone: str) -> Person:
    """The registered person a token is created for (``token create --person PHONE``)."""
    try:
        number = normalize(phone)
    except InvalidPhoneNumber as exc:
        raise InvalidInput(str(exc)) from None
    person = session.scalar(select(Person).where(Person.phone_hash == vault.lookup_hash(number)))
    if person is None:
        raise NotFound("that number is not a registered person (rallyline people add)")
    return person


def verify(session: Session, secret: str) -> ApiToken | None:
    """The live token with this secret, or None (unknown or revoked)."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret)))
    if token is None or token.revoked_at is not None:
        return None
    return token


def revoke(session: Session, token_id: int, now: datetime) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"no token #{token_id}")
    if token.revoked_at is not None:
        raise Conflict(f"token #{token_id} is already revoked")
    token.revoked_at = now
    session.flush()
    return token
