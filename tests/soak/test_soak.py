"""The short soak (about 30 s of traffic) runs with the suite; `make soak` runs the long one."""

from __future__ import annotations

import pytest

from tests.soak.report import render
from tests.soak.scenario import Settings, run

pytestmark = pytest.mark.e2e


def test_invariants_hold_under_fire(database_url):
    record, results = run(Settings(seconds=30, subscribers=1000, database_url=database_url))
    report = render(record, results)
    print(report)
    failed = [name for name, (ok, _) in results["checks"].items() if not ok]
    assert not failed, report
