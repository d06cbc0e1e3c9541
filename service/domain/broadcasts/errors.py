"""Why a broadcast command was refused: a reply to render and a sentence for the API."""

from __future__ import annotations

from typing import Any

from service.errors import InvalidInput


class Refused(InvalidInput):
    def __init__(self, reply: str, message: str, **values: Any) -> None:
        super().__init__(message)
        self.reply = reply
        self.values = values
