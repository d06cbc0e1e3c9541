"""The current app's Runtime, for handlers."""

from flask import current_app

from service.runtime import Runtime


def runtime() -> Runtime:
    return current_app.extensions["rallyline"]
