"""SMS gateways: one interface, a Twilio adapter and a console adapter."""

from service.gateway.base import SendError, SmsGateway
from service.gateway.build import build_gateway

__all__ = ["SendError", "SmsGateway", "build_gateway"]
