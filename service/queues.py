"""RQ queues, in the priority order workers serve them."""

from __future__ import annotations

import redis
from rq import Queue

ALERTS = "alerts"
BROADCASTS = "broadcasts"
DEFAULT = "default"
PRIORITY = (ALERTS, BROADCASTS, DEFAULT)


class Queues:
    def __init__(self, connection: redis.Redis) -> None:
        self.connection = connection
        self.alerts = Queue(ALERTS, connection=connection)
        self.broadcasts = Queue(BROADCASTS, connection=connection)
        self.default = Queue(DEFAULT, connection=connection)

    def all(self) -> list[Queue]:
        return [self.alerts, self.broadcasts, self.default]
