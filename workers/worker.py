"""The worker class every rallyline worker process runs (`--worker-class workers.worker.Worker`).

RQ's SimpleWorker runs jobs in its own process, so the sending machinery and its
HTTP connections outlive jobs. This one also loads the job modules, the runtime
and the senders of the queues it serves when the process starts: otherwise the
first job pays for them (about a second of imports here), and the first job may
be an alert page.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from rq.worker import SimpleWorker

from service.errors import ConfigError
from service.queues import ALERTS, BROADCASTS

# How long the pub/sub thread (RQ's command channel) waits at a time. RQ waits 60 s,
# counting on UNSUBSCRIBE's reply to wake it; the thread can take that reply before it
# is told to end, then waits the full time for a new subscription, and redis-py 8 joins
# it without a limit: a warm shutdown now and then took a minute.
COMMAND_WAIT_SECONDS = 1.0


class Worker(SimpleWorker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        import workers.alerts
        import workers.broadcasts
        import workers.sending
        import workers.sweeps  # noqa: F401 - imported for their import time
        from workers.runtime import current

        try:
            current()
        except ConfigError as exc:
            raise SystemExit(f"rallyline worker: {exc}") from None
        # The senders too: each starts an event loop and builds a Twilio client (about a
        # tenth of a second), which the first page or broadcast text would otherwise wait
        # for; the broadcast sender also compiles its statements.
        queues = set(self.queue_names())
        if ALERTS in queues:
            workers.alerts.page_sender()
        if BROADCASTS in queues:
            workers.broadcasts.sender().warm_up()

    def subscribe(self) -> None:
        """RQ's, with the pub/sub thread waking every COMMAND_WAIT_SECONDS."""
        self.log.info("Worker %s: subscribing to channel %s", self.name, self.pubsub_channel_name)
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(
            sleep_time=COMMAND_WAIT_SECONDS,
            daemon=True,
            exception_handler=self._pubsub_exception_handler,
        )


def command(redis_url: str, queues: Sequence[str], *, scheduler: bool = False) -> list[str]:
    """The command line of one worker process serving `queues` in that order."""
    return [
        sys.executable,
        "-m",
        "rq.cli",
        "worker",
        *(["--with-scheduler"] if scheduler else []),
        "--worker-class",
        f"{__name__}.{Worker.__name__}",
        "--url",
        redis_url,
        *queues,
    ]
