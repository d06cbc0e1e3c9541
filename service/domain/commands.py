"""Which function handles which SMS command, and who may use it."""

from __future__ import annotations

from collections.abc import Callable

from service.domain import supporters
from service.domain.context import SmsContext
from service.sms.parser import Command

Handler = Callable[[SmsContext, Command], "str | None"]
# name -> (roles allowed, or None for anyone; handler)
CommandTable = dict[str, tuple[frozenset[str] | None, Handler]]

SUPPORTER_COMMANDS: CommandTable = {
    "join": (None, supporters.join),
    "stop": (None, supporters.stop),
    "start": (None, supporters.start),
    "help": (None, supporters.help),
    "zone": (None, supporters.zone),
    "language": (None, supporters.language),
    "forget": (None, supporters.forget),
    "other": (None, supporters.other),
}


def all_commands() -> CommandTable:
    from service.domain.alerts.sms import HANDLERS as ALERT_COMMANDS
    from service.domain.broadcasts.sms import HANDLERS as BROADCAST_COMMANDS

    return {**SUPPORTER_COMMANDS, **BROADCAST_COMMANDS, **ALERT_COMMANDS}


def handler_for(command: Command, ctx: SmsContext) -> Handler | None:
    """The handler, or None when the sender may not use it (they get supporter behaviour,
    never an error that reveals the command exists)."""
    entry = all_commands().get(command.name)
    if entry is None:
        return None
    roles, handler = entry
    if roles is not None and (ctx.person is None or ctx.person.role not in roles):
        return None
    return handler
