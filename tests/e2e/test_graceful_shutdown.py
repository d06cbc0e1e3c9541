"""SIGTERM is how platforms stop processes on deploy: a worker finishes its batch (nothing
left "unknown", nothing sent twice), the web process answers the requests it accepted."""

from __future__ import annotations

import signal
import threading
import time

import pytest
import requests
from sqlalchemy import select

from tests.broadcasts.e2e_support import per_number, prepare, preview_and_send, wait_until_settled
from tests.e2e.harness import wait_for


@pytest.fixture
def stack_env(stack_env):  # type: ignore[no-untyped-def]
    return {**stack_env, "SEND_RATE_PER_SECOND": "150"}


def test_sigterm_to_a_worker_finishes_its_batch(stack, fake_twilio):
    phones = prepare(stack, 1500)
    stack.start_web()
    worker = stack.start_worker()
    stack.start_clock()
    preview_and_send(stack, "BCAST Legal observers needed at 4pm.")
    fake_twilio.wait_for_messages(200, timeout=30)
    began = time.monotonic()
    stack.kill(worker, signal.SIGTERM)  # waits for the process to exit
    assert worker.returncode == 0, stack.output()
    assert time.monotonic() - began < 30
    stack.start_worker()
    summary = wait_until_settled(stack, timeout=60)
    counts = per_number(fake_twilio.messages())
    assert set(counts) == set(phones) and set(counts.values()) == {1}
    assert summary.get("unknown", 0) == 0, summary


def test_sigterm_to_the_web_process_answers_what_it_accepted(stack):
    """Every request the app took is answered; what the kernel dropped from the accept queue
    when the listener closed was never seen (Twilio retries those), so it left no trace."""
    from service.models import InboundMessage
    from tests.support.phone import new_sid

    web = stack.start_web()
    answered: list[str] = []
    dropped: list[str] = []
    halt = threading.Event()

    def client(index: int) -> None:
        number = f"+1215555{index:04d}"
        while not halt.is_set():
            sid = new_sid()
            try:
                response = stack.post_sms(number, "hello there", sid=sid)
            except requests.ConnectionError:
                dropped.append(sid)
                return
            assert response.status_code == 200, response.text
            answered.append(sid)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    wait_for(lambda: len(answered), lambda n: n >= 50, timeout=20, message="traffic")
    stack.kill(web, signal.SIGTERM)
    halt.set()
    for thread in threads:
        thread.join(timeout=30)
    assert web.returncode == 0

    rt = stack.runtime()
    with rt.database.session() as session:
        recorded = set(session.scalars(select(InboundMessage.message_sid)))
    rt.close()
    assert set(answered) <= recorded, "every answered text was recorded"
    assert not set(dropped) & recorded, "a dropped request had an effect it never answered"
