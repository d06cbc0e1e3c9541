"""A whole rallyline on this machine: gunicorn, RQ worker and clock processes, the
Twilio-compatible server, real Redis and the test database.

    stack = Stack(env)                     # env: the rallyline environment variables
    stack.start_web(); stack.start_worker(); stack.start_clock()
    stack.text("+12155550100", "JOIN")     # signed like Twilio; returns the reply
    stack.kill(worker)                     # SIGKILL, the way a crash looks
    stack.stop()
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import requests

from tests.support.phone import new_sid, sign
from workers.worker import command as worker_command

REPO = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(
    probe: Callable[[], T],
    done: Callable[[T], bool] = bool,
    timeout: float = 15.0,
    interval: float = 0.05,
    message: str = "condition",
) -> T:
    """Poll ``probe`` until ``done(value)``; fail with the last value at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout}s waiting for {message}; last: {value!r}"
            )
        time.sleep(interval)


class Stack:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            **env,
            "PUBLIC_BASE_URL": self.url,
            "PORT": str(self.port),
            "PYTHONUNBUFFERED": "1",
        }
        self.token = self.env.get("TWILIO_AUTH_TOKEN") or "development-token"
        self.processes: list[tuple[str, subprocess.Popen[bytes], Path]] = []
        self.killed: set[int] = set()  # pids the test stopped on purpose
        self.logs = Path(tempfile.mkdtemp(prefix="rallyline-e2e-"))

    # --- processes ---------------------------------------------------------------

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        log = self.logs / f"{name}-{len(self.processes)}.log"
        process = subprocess.Popen(
            command,
            cwd=REPO,
            env=self.env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append((name, process, log))
        return process

    def start_web(self, workers: int = 2) -> subprocess.Popen[bytes]:
        process = self._spawn(
            "web",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--no-control-socket",
                "--workers",
                str(workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "service.wsgi:app",
            ],
        )
        wait_for(self._ready, timeout=30, message=f"web on {self.url}")
        return process

    def start_worker(
        self, queues: tuple[str, ...] = ("alerts", "broadcasts", "default"), scheduler: bool = True
    ) -> subprocess.Popen[bytes]:
        return self._spawn(
            "worker", worker_command(self.env["REDIS_URL"], queues, scheduler=scheduler)
        )

    def start_pager(self) -> subprocess.Popen[bytes]:
        """The Procfile's `pager`: a worker for the alerts queue only, so a page never
        waits behind a broadcast chunk on the shared workers."""
        return self._spawn(
            "pager", worker_command(self.env["REDIS_URL"], ("alerts",), scheduler=True)
        )

    def start_clock(self) -> subprocess.Popen[bytes]:
        return self._spawn(
            "clock",
            [
                sys.executable,
                "-m",
                "rq.cli",
                "cron",
                "--url",
                self.env["REDIS_URL"],
                "workers.cron",
            ],
        )

    def kill(self, process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
        self.killed.add(process.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        process.wait(timeout=30)

    def stop(self) -> None:
        for _, process, _ in reversed(self.processes):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for _, process, _ in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill(process)

    def output(self) -> str:
        """Every process's log, for a failing test's report."""
        return "\n".join(
            f"--- {name} ({log})\n{log.read_text(errors='replace')[-3000:]}"
            for name, _, log in self.processes
        )

    def _ready(self) -> bool:
        for name, process, _ in self.processes:
            if name == "web" and process.poll() is not None and process.pid not in self.killed:
                raise AssertionError(f"{name} exited early:\n{self.output()}")
        try:
            return requests.get(f"{self.url}/readyz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def runtime(self):  # type: ignore[no-untyped-def]
        """A Runtime on the stack's database and Redis, for the test to look inside."""
        from service.config import Config
        from service.runtime import Runtime

        return Runtime(Config.from_env(self.env))

    # --- texting ---------------------------------------------------------------------

    def post_sms(self, number: str, body: str, sid: str | None = None) -> requests.Response:
        form = {
            "MessageSid": sid or new_sid(),
            "AccountSid": "AC" + "0" * 32,
            "From": number,
            "To": "+15005550006",
            "Body": body,
            "NumMedia": "0",
        }
        url = f"{self.url}/twilio/sms"
        return requests.post(
            url, data=form, headers={"X-Twilio-Signature": sign(url, form, self.token)}, timeout=15
        )

    def text(self, number: str, body: str, sid: str | None = None) -> str | None:
        response = self.post_sms(number, body, sid)
        assert response.status_code == 200, response.text
        found = [m.text or "" for m in ElementTree.fromstring(response.content).iter("Message")]
        return found[0] if found else None
