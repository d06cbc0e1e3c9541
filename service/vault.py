"""Encryption at rest for phone numbers and message bodies.

A database dump must not show who is on the lists. Numbers and bodies are
stored as Fernet tokens; a number is found again through an HMAC of it, keyed
with a key derived from the same secret, so equal numbers match without the
number being stored in the clear.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class Vault:
    def __init__(self, secret_key: str) -> None:
        master = base64.urlsafe_b64decode(secret_key.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(master, b"rallyline encryption")))
        self._hash_key = _derive(master, b"rallyline lookup hash")

    def encrypt(self, text: str) -> bytes:
        return self._fernet.encrypt(text.encode())

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(bytes(token)).decode()
        except InvalidToken:
            # Written under another key: the data is unreadable, which is the point.
            return ""

    def lookup_hash(self, phone_e164: str) -> str:
        return hmac.new(self._hash_key, phone_e164.encode(), hashlib.sha256).hexdigest()


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)
