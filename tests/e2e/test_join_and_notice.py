"""A supporter joins through the live web server; a text goes out through a real RQ worker,
the real twilio-python client and the local Twilio server, whose signed status callbacks
come back to the web server and complete the ledger."""

from __future__ import annotations

import subprocess
import sys

from service.domain import sending
from service.domain.context import Effect
from service.models import OutboundMessage, Subscriber
from tests.e2e.harness import REPO, wait_for

ANA = "+12155550100"


def test_join_then_a_notice_is_delivered(stack, fake_twilio):
    stack.start_web()
    stack.start_worker()
    assert "you joined" in stack.text(ANA, "JOIN")
    assert stack.text(ANA, "JOIN", sid="SM" + "a" * 32) == stack.text(
        ANA, "JOIN", sid="SM" + "a" * 32
    )

    rt = stack.runtime()
    with rt.database.session() as session:
        subscriber = session.query(Subscriber).one()
        message_id = sending.queue_notice(
            session, rt.vault, "Meeting at 6pm", subscriber=subscriber
        ).id
    rt.enqueue(Effect("default", "workers.sending.deliver_notice", (message_id,)))

    [sent] = fake_twilio.wait_for_messages(1, timeout=20)
    assert (sent["to"], sent["body"]) == (ANA, "Meeting at 6pm")

    def ledger_status() -> str:
        with rt.database.session() as session:
            return session.get(OutboundMessage, message_id).status

    wait_for(ledger_status, lambda s: s == "delivered", timeout=20, message="delivered callback")
    stats = fake_twilio.stats()
    assert stats["callbacks_failed"] == 0, stats


def test_carrier_opt_out_seen_by_the_worker_stops_the_number(stack, fake_twilio):
    stack.start_web()
    stack.start_worker()
    stack.text(ANA, "JOIN")
    fake_twilio.set_faults(errors_for_numbers={ANA: 21610})
    rt = stack.runtime()
    with rt.database.session() as session:
        subscriber = session.query(Subscriber).one()
        message_id = sending.queue_notice(session, rt.vault, "hello", subscriber=subscriber).id
    rt.enqueue(Effect("default", "workers.sending.deliver_notice", (message_id,)))

    def subscriber_status() -> str:
        with rt.database.session() as session:
            return session.query(Subscriber).one().status

    wait_for(subscriber_status, lambda s: s == "opted_out", timeout=20, message="opt-out")
    assert fake_twilio.messages() == []


def test_the_text_command_prints_the_reply(stack):
    stack.start_web()
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from service.cli import main; main()",
            "text",
            ANA,
            "JOIN",
            "--url",
            stack.url,
        ],
        cwd=REPO,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Camp Hope: you joined" in result.stdout
