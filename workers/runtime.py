"""The worker process's Runtime, built once from the environment."""

from __future__ import annotations

from functools import cache

from service.config import Config
from service.logs import configure_logging
from service.runtime import Runtime


@cache
def current() -> Runtime:
    configure_logging()
    return Runtime(Config.from_env())
