"""End-to-end scenarios: every process real, one scenario per file."""

from __future__ import annotations

import pytest

from tests.conftest import TEST_SECRET_KEY, empty_tables
from tests.e2e.harness import Stack

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack_env(database_url, redis_url, fake_twilio):  # type: ignore[no-untyped-def]
    """The environment every process of the stack gets; tests may add to it before starting."""
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "RALLYLINE_SECRET_KEY": TEST_SECRET_KEY,
        "TWILIO_ACCOUNT_SID": fake_twilio.account_sid,
        "TWILIO_AUTH_TOKEN": fake_twilio.auth_token,
        "TWILIO_FROM_NUMBER": "+15005550006",
        "TWILIO_API_BASE_URL": fake_twilio.url,
        "ORG_NAME": "Camp Hope",
        "SEND_RATE_PER_SECOND": "0",
    }


@pytest.fixture
def stack(stack_env, redis_conn, request):  # type: ignore[no-untyped-def]
    from service.database import Database

    database = Database(stack_env["DATABASE_URL"])
    empty_tables(database)
    database.dispose()
    running = Stack(stack_env)
    yield running
    running.stop()
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        print(running.output())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report
