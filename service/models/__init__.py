"""All tables. Importing this module registers every model on ``Base.metadata``."""

from service.models.alerts import Alert, AlertEvent, AlertText, ReplyCode  # noqa: F401
from service.models.api import ApiToken, AuditEntry, IdempotencyKey  # noqa: F401
from service.models.audience import (
    CampaignList,
    ConsentEvent,
    Keyword,
    Membership,
    Subscriber,
    Zone,
    ZoneZip,
)
from service.models.base import Base, utcnow
from service.models.broadcasts import Broadcast, BroadcastChunk, Rsvp  # noqa: F401
from service.models.messages import InboundMessage, OutboundMessage, StatusEvent
from service.models.outbox import OutboxEntry
from service.models.people import Person

__all__ = [
    "Base",
    "CampaignList",
    "ConsentEvent",
    "InboundMessage",
    "Keyword",
    "Membership",
    "OutboundMessage",
    "OutboxEntry",
    "Person",
    "StatusEvent",
    "Subscriber",
    "Zone",
    "ZoneZip",
    "utcnow",
]
