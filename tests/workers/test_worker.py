from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.conftest import TEST_SECRET_KEY
from workers.runtime import current
from workers.worker import Worker


@pytest.fixture
def worker(
    redis_conn: redis.Redis,
    redis_url: str,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Worker]:
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("RALLYLINE_SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.setenv("RALLYLINE_VAR_DIR", str(tmp_path))
    current.cache_clear()
    yield Worker(["default"], connection=redis_conn)
    current().close()  # the runtime the worker built from the environment above
    current.cache_clear()


def test_a_warm_shutdown_does_not_wait_on_the_command_channel(worker: Worker) -> None:
    """The race a worker loses now and then when told to stop: its pub/sub thread reads
    the UNSUBSCRIBE reply before the flag that ends it is cleared, then waits for a
    subscription that never comes. RQ waits 60 s at a time there, and redis-py 8 joins
    the thread without a limit: a deploy's SIGTERM would hang for up to a minute."""
    worker.subscribe()
    assert worker.pubsub is not None
    worker.pubsub.unsubscribe()  # the thread takes the reply, as in the lost race
    deadline = time.monotonic() + 5
    while worker.pubsub.subscribed:
        assert time.monotonic() < deadline, "the pub/sub thread never read the reply"
        time.sleep(0.01)

    started = time.monotonic()
    stopping = threading.Thread(target=worker.unsubscribe, daemon=True)
    stopping.start()
    stopping.join(timeout=10)
    assert not stopping.is_alive(), "the worker's shutdown hung on its pub/sub thread"
    assert time.monotonic() - started < 3
