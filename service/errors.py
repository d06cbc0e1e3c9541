"""Every exception the domain raises, in one place.

Web handlers, the SMS dispatcher and the CLI each map these to their own answer
(a 4xx with a reason, a helpful reply, a message naming the problem).
"""


class RallylineError(Exception):
    """Base of the errors a user can be told about."""


class ConfigError(RallylineError):
    """A setting is missing or malformed; startup stops."""


class InvalidInput(RallylineError):
    """Input that parsed but makes no sense (unknown zone, bad phone number, ...)."""


class NotFound(RallylineError):
    """The thing asked for does not exist."""


class Conflict(RallylineError):
    """The request contradicts the current state (already exists, already sent, ...)."""


class Forbidden(RallylineError):
    """The caller's role may not do this."""
