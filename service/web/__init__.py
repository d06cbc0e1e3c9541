"""Blueprints, one per surface, registered from one list."""

from flask import Blueprint

from service.web.api import api
from service.web.health import health
from service.web.twilio_hooks import twilio_hooks

BLUEPRINTS: list[Blueprint] = [health, twilio_hooks, api]
