"""rallyline: the text-message backbone for a protest movement."""

from __future__ import annotations

from typing import Any

from flask import Flask

from service.config import Config


def create_app(config: Config | None = None, **overrides: Any) -> Flask:
    """The app factory: the web process, the CLI and the tests start here."""
    import service.domain.alerts  # noqa: F401  (the alert engine's ledger hooks)
    from service.logs import configure_logging
    from service.runtime import Runtime
    from service.web import BLUEPRINTS
    from service.web.errors import register_error_handlers

    config = config or Config.from_env(**overrides)
    configure_logging()
    app = Flask(__name__)
    # Twilio's forms are small (Body <= 1600 chars): anything bigger is not Twilio.
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    app.extensions["rallyline"] = Runtime(config)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    register_error_handlers(app)
    return app
