"""The broadcast commands people text, by name: (roles allowed or None for anyone, handler)."""

from __future__ import annotations

from service.domain.commands import CommandTable

HANDLERS: CommandTable = {}
