"""`python -m tests.soak [--seconds 120] [--subscribers 5000]`: run the soak, print the report."""

from __future__ import annotations

import argparse
import os
import sys

from tests.soak.report import render
from tests.soak.scenario import Settings, run


def main() -> int:
    parser = argparse.ArgumentParser(description="rallyline soak: invariants under fire")
    parser.add_argument("--seconds", type=float, default=120.0, help="how long traffic runs")
    parser.add_argument("--subscribers", type=int, default=5000, help="broadcast audience")
    parser.add_argument("--rate", type=float, default=15.0, help="inbound texts per second")
    parser.add_argument("--seed", type=int, default=0, help="random seed (chaos timing, mix)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("SOAK_DATABASE_URL", ""),
        help="a database to EMPTY and use (default: a fresh SQLite file)",
    )
    args = parser.parse_args()
    record, results = run(
        Settings(
            seconds=args.seconds,
            subscribers=args.subscribers,
            rate=args.rate,
            seed=args.seed,
            database_url=args.database_url,
        )
    )
    print(render(record, results))
    return 0 if all(ok for ok, _ in results["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
