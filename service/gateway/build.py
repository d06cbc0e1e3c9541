"""Pick the gateway the configuration asks for."""

from __future__ import annotations

from service.config import Config
from service.gateway.base import SmsGateway
from service.gateway.console import ConsoleGateway
from service.gateway.twilio import TwilioGateway


def build_gateway(config: Config) -> SmsGateway:
    if not config.uses_twilio:
        return ConsoleGateway()
    return TwilioGateway(**twilio_settings(config))


def twilio_settings(config: Config) -> dict[str, str]:
    """What either Twilio gateway (threaded or asyncio) is built with."""
    return {
        "account_sid": config.twilio_account_sid,
        "auth_token": config.twilio_auth_token,
        "from_number": config.twilio_from_number,
        "messaging_service_sid": config.twilio_messaging_service_sid,
        "status_callback": f"{config.public_base_url}/twilio/status",
        "api_base_url": config.twilio_api_base_url,
    }
