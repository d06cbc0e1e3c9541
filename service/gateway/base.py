"""The interface every SMS provider adapter implements."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple, Protocol

# Twilio error codes that will fail the same way every time for this number.
PERMANENT_CODES = frozenset({21211, 21408, 21610, 21612, 21614, 30004, 30005, 30006})
# Of those, the ones that mean the number must never be texted again.
NUMBER_IS_DEAD = frozenset({21211, 21610, 21614, 30005, 30006})


class SendError(Exception):
    """The provider did not take the text.

    ``retryable`` errors (429, 5xx, connection failures) may be tried again later;
    ``ambiguous`` ones (a timeout after the request went out) may or may not have
    been sent and must not be retried blindly; ``untried`` ones never reached the
    provider (Redis could not be asked), so they use up none of a text's attempts.
    """

    untried = False

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        retryable: bool = False,
        ambiguous: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable
        self.ambiguous = ambiguous
        self.retry_after = retry_after


class SentText(NamedTuple):
    sid: str
    created_at: datetime  # aware, UTC


class SmsGateway(Protocol):
    name: str

    def send(self, to: str, body: str, *, validity_period: int | None = None) -> str:
        """Hand one text to the provider; return its message id or raise SendError."""
        ...

    def sent_to(self, to: str) -> list[SentText] | None:
        """The provider's latest texts to `to`, newest first; None if it cannot be asked."""
        ...
