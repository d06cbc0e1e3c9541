"""Domain tests that send through the real twilio-python client to the local server."""

from __future__ import annotations

import pytest

from service.gateway.build import build_gateway
from tests.support.records import add_subscriber

NUMBER = "+12155550100"  # the `subscriber` fixture's


@pytest.fixture
def gateway(twilio_config):  # type: ignore[no-untyped-def]
    return build_gateway(twilio_config)


@pytest.fixture
def subscriber(session, runtime):  # type: ignore[no-untyped-def]
    sub = add_subscriber(session, runtime.vault, NUMBER)
    session.commit()
    return sub
