"""The soak scenario: a whole stack under a steady stream of texts, a broadcast and an
unanswered alert in flight, while workers are killed, Redis and the web process restart."""

from __future__ import annotations

import random
import re
import signal
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.database import Database
from service.domain import people, zones
from tests.broadcasts.seeding import seed_subscribers
from tests.conftest import TEST_SECRET_KEY, empty_tables
from tests.e2e.harness import Stack, wait_for
from tests.fake_twilio.control import FakeTwilio
from tests.soak.redis_process import RedisProcess
from tests.soak.traffic import Traffic

ORGANIZER = "+12155550101"
DISPATCHER = "+12155550102"
TIER_ONE = ("+12155550111", "+12155550112")
TIER_TWO = "+12155550121"
ESCALATION_TIMEOUT = 6
REDIS_DOWN_SECONDS = 1.5  # how long each chaos restart of Redis keeps it down


@dataclass
class Settings:
    seconds: float = 120.0
    subscribers: int = 5000
    rate: float = 15.0  # inbound texts per second
    send_rate: int = 0  # SEND_RATE_PER_SECOND; 0: paced so the broadcast spans most of the run
    seed: int = 0
    database_url: str = ""  # empty: a fresh SQLite file


@dataclass
class Run:
    settings: Settings
    events: list[tuple[float, str]] = field(default_factory=list)
    broadcast_body: str = ""
    alert_body: str = ""
    alert_sent_at: float = 0.0
    supervisor_restarts: int = 0
    worker_deaths: int = 0  # killed by the chaos or exited on their own


def run(settings: Settings) -> tuple[Run, dict[str, Any]]:
    if not settings.send_rate:
        settings.send_rate = max(20, round(settings.subscribers / (settings.seconds * 0.6)))
    rng = random.Random(settings.seed)
    record = Run(settings)
    folder = Path(tempfile.mkdtemp(prefix="soak-"))
    database_url = settings.database_url or f"sqlite:///{folder / 'soak.db'}"
    redis = RedisProcess()
    redis.start()
    fake = FakeTwilio.start()
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis.url,
        "RALLYLINE_SECRET_KEY": TEST_SECRET_KEY,
        "RALLYLINE_VAR_DIR": str(folder / "var"),
        "TWILIO_ACCOUNT_SID": fake.account_sid,
        "TWILIO_AUTH_TOKEN": fake.auth_token,
        "TWILIO_FROM_NUMBER": "+15005550006",
        "TWILIO_API_BASE_URL": fake.url,
        "ORG_NAME": "Camp Hope",
        "SEND_RATE_PER_SECOND": str(settings.send_rate),
        "ESCALATION_TIMEOUT_SECONDS": str(ESCALATION_TIMEOUT),
        "ESCALATION_REPEAT": "0",
    }
    stack = Stack(env)
    try:
        stoppers = _prepare(stack, settings, rng)
        stack.start_web()
        # The Procfile's layout: shared workers, the alerts-only pager and the clock.
        workers = [stack.start_worker(), stack.start_worker()]
        stack.start_pager()
        stack.start_clock()
        traffic = Traffic(f"{stack.url}/twilio/sms", stack.token, settings.rate, stoppers, rng)
        started = time.monotonic()

        def note(what: str) -> None:
            record.events.append((time.monotonic() - started, what))

        traffic.start()
        record.broadcast_body = (
            f"Camp Hope: the kitchen moved to the church hall ({uuid.uuid4().hex[:6]})"
        )
        preview = stack.text(ORGANIZER, f"BCAST {record.broadcast_body}")
        code = re.search(r"SEND (\d{4})", preview or "")
        assert code, preview
        note(
            f"broadcast to {settings.subscribers}: {stack.text(ORGANIZER, f'SEND {code.group(1)}')}"
        )
        record.alert_body = f"SOAK {uuid.uuid4().hex[:6]} riot police at the east gate"
        record.alert_sent_at = time.time()
        note(f"alert: {stack.text(DISPATCHER, f'ALERT {record.alert_body}')}")

        chaos = _chaos_plan(settings.seconds, rng)
        lock = threading.Lock()
        for at, action in chaos:
            _sleep_until(started + at, stack, workers, lock, record, note)
            with lock:
                if action == "kill worker":
                    victim = rng.randrange(len(workers))
                    stack.kill(workers[victim])
                    record.worker_deaths += 1
                    workers[victim] = stack.start_worker()
                    note("kill -9 a worker, start another")
                elif action == "restart redis":
                    redis.restart(down_for=REDIS_DOWN_SECONDS)
                    note(f"Redis restarted (down {REDIS_DOWN_SECONDS} s)")
                elif action == "restart web":
                    web = next(
                        p for name, p, _ in stack.processes if name == "web" and p.poll() is None
                    )
                    stack.kill(web, signal.SIGTERM)
                    stack.start_web()
                    note("web restarted (SIGTERM, then a new gunicorn)")
        _sleep_until(started + settings.seconds, stack, workers, lock, record, note)
        traffic.stop()
        note(f"traffic stopped after {len(traffic.log.sent)} requests")
        _supervise(stack, workers, record, note)
        settled = _wait_until_settled(stack, record, note)
        note("settled" if settled else "did NOT settle before the deadline")
        fake.wait_for_idle(timeout=30)
        from tests.soak.audit import audit

        results = audit(stack, fake, traffic.log, record)
        return record, results
    finally:
        stack.stop()
        fake.stop()
        redis.stop()


def _prepare(stack: Stack, settings: Settings, rng: random.Random) -> list[str]:
    database = Database(stack.env["DATABASE_URL"])
    database.upgrade()
    empty_tables(database)
    database.dispose()
    rt = stack.runtime()
    with rt.database.session() as session:
        people.register(session, rt.vault, ORGANIZER, "organizer", name="Olga")
        people.register(session, rt.vault, DISPATCHER, "dispatcher", name="Dee")
        for index, number in enumerate(TIER_ONE):
            people.register(session, rt.vault, number, "responder", name=f"Ana{index}", tier=1)
        people.register(session, rt.vault, TIER_TWO, "responder", name="Carla", tier=2)
        zones.add_zone(session, "North", ["19104"])
    phones = seed_subscribers(rt.database, rt.vault, settings.subscribers)
    rt.close()
    # A tenth of the audience will text STOP while the broadcast is in flight.
    return rng.sample(phones, max(1, settings.subscribers // 10))


def _chaos_plan(seconds: float, rng: random.Random) -> list[tuple[float, str]]:
    """When to strike: spread over the run, the first after the broadcast got going."""
    actions = ["kill worker", "restart redis", "restart web", "kill worker"]
    if seconds >= 90:
        actions += ["kill worker", "restart web", "restart redis"]
    slots = sorted(rng.uniform(0.15, 0.85) * seconds for _ in actions)
    rng.shuffle(actions)
    return list(zip(slots, actions, strict=True))


def _sleep_until(
    deadline: float,
    stack: Stack,
    workers: list,
    lock: threading.Lock,  # type: ignore[type-arg]
    record: Run,
    note,
) -> None:  # type: ignore[no-untyped-def]
    while time.monotonic() < deadline:
        with lock:
            _supervise(stack, workers, record, note)
        time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))


def _supervise(stack: Stack, workers: list, record: Run, note) -> None:  # type: ignore[type-arg, no-untyped-def]
    """Do what a process supervisor does: restart a process that exited on its own."""
    for index, worker in enumerate(workers):
        if worker.poll() is not None:
            workers[index] = stack.start_worker()
            record.supervisor_restarts += 1
            record.worker_deaths += 1
            note(f"supervisor: worker exited ({worker.returncode}), restarted")
    for role, start in (("pager", stack.start_pager), ("clock", stack.start_clock)):
        ran = [p for name, p, _ in stack.processes if name == role]
        if ran and all(p.poll() is not None for p in ran):
            start()
            record.supervisor_restarts += 1
            note(f"supervisor: {role} exited ({ran[-1].returncode}), restarted")


def _wait_until_settled(stack: Stack, record: Run, note) -> bool:  # type: ignore[no-untyped-def]
    from tests.soak.audit import unsettled

    try:
        wait_for(
            lambda: unsettled(stack),
            lambda left: not left,
            timeout=120,
            interval=1.0,
            message="the broadcast and the alerts to settle",
        )
        return True
    except AssertionError as exc:
        note(str(exc)[:200])
        return False
