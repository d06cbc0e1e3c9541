"""`rallyline dev`: web, one worker and the clock on the embedded defaults."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping

import click

from service.config import Config
from service.database import Database
from service.queues import PRIORITY
from service.redis_connection import embedded_redis_url, stop_embedded
from workers.worker import command as worker_command


def processes(config: Config, port: int, redis_url: str) -> dict[str, list[str]]:
    python = sys.executable
    return {
        "web": [
            python,
            "-m",
            "gunicorn",
            "--no-control-socket",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--access-logfile",
            "-",
            "service.wsgi:app",
        ],
        # A SimpleWorker runs jobs in-process: no fork per job, HTTP connections reused.
        "worker": worker_command(redis_url, PRIORITY, scheduler=True),
        "clock": [python, "-m", "rq.cli", "cron", "--url", redis_url, "workers.cron"],
    }


def run(config: Config, port: int) -> None:
    Database(config.database_url).upgrade()
    redis_url = config.redis_url or embedded_redis_url(config.var_dir)
    env = dict(os.environ)
    env.update(
        DATABASE_URL=config.database_url,
        REDIS_URL=redis_url,
        RALLYLINE_SECRET_KEY=config.secret_key,
        PORT=str(port),
        PUBLIC_BASE_URL=os.environ.get("PUBLIC_BASE_URL") or f"http://127.0.0.1:{port}",
        PYTHONUNBUFFERED="1",
    )
    # SIGTERM (a supervisor, `timeout`) must stop the children too, like Ctrl-C does.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    children = _start(processes(config, port, redis_url), env)
    click.echo(
        f"rallyline is up on http://127.0.0.1:{port} "
        f"({'Twilio' if config.uses_twilio else 'console'} gateway). Ctrl-C stops everything.\n"
        f"Try in another terminal: rallyline text +12155550100 JOIN --url http://127.0.0.1:{port}"
    )
    try:
        while True:
            for name, child in children.items():
                if child.poll() is not None:
                    raise click.ClickException(f"the {name} process exited ({child.returncode})")
            time.sleep(0.5)
    except KeyboardInterrupt:
        click.echo("\nstopping...")
    finally:
        _stop(children)
        stop_embedded()


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _start(
    commands: Mapping[str, list[str]], env: Mapping[str, str]
) -> dict[str, subprocess.Popen]:
    # Own process groups, so Ctrl-C reaches us once and we stop the children in order.
    return {
        name: subprocess.Popen(command, env=env, start_new_session=True)
        for name, command in commands.items()
    }


def _stop(children: Mapping[str, subprocess.Popen], grace: float = 10.0) -> None:
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
