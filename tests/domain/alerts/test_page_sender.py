"""A tier's pages at once, through the real asyncio twilio-python client and the local Twilio
server: each page is recorded with its own outcome, a sealed number is skipped, and a
retryable error leaves the page queued for the sweep."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from service.domain import sending
from service.domain.alerts.page_sender import PageSender
from service.domain.provider_loop import ProviderLoop
from service.gateway.twilio_async import build_async_gateway
from service.models import OutboundMessage
from service.optout_fence import OptOutFence

OK, DEAD, SEALED = "+12155550140", "+12155550141", "+12155550142"


@pytest.fixture
def page_sender(runtime, twilio_config, redis_conn):  # type: ignore[no-untyped-def]
    fence = OptOutFence(redis_conn)
    provider = ProviderLoop(lambda: build_async_gateway(twilio_config), fence)
    yield PageSender(runtime.database, runtime.vault, runtime.pacer, provider)
    provider.close()


def queue_pages(runtime, numbers):  # type: ignore[no-untyped-def]
    with runtime.database.session() as session:
        return [
            sending.queue_notice(session, runtime.vault, f"Page for {n}", to=n, purpose="page").id
            for n in numbers
        ]


def statuses(runtime, ids):  # type: ignore[no-untyped-def]
    with runtime.database.session() as session:
        rows = session.execute(
            select(OutboundMessage.id, OutboundMessage.status).where(OutboundMessage.id.in_(ids))
        )
        return dict(rows.all())


def test_each_page_gets_its_own_outcome(runtime, page_sender, fake_twilio, redis_conn):
    fake_twilio.set_faults(errors_for_numbers={DEAD: 21610})
    OptOutFence(redis_conn).seal(runtime.vault.lookup_hash(SEALED))
    ok, dead, sealed = ids = queue_pages(runtime, [OK, DEAD, SEALED])

    results = page_sender.send(ids)

    assert {r.message_id: r.status for r in results} == {
        ok: "sent",
        dead: "failed",
        sealed: "skipped",
    }
    assert statuses(runtime, ids) == {ok: "sent", dead: "failed", sealed: "skipped"}
    assert [m["to"] for m in fake_twilio.messages()] == [OK]
    assert page_sender.send(ids) == [], "nothing is sent twice"


def test_a_retryable_error_leaves_the_page_queued(runtime, page_sender, fake_twilio):
    fake_twilio.set_faults(every_nth_429=1)
    (page,) = queue_pages(runtime, [OK])
    assert [r.status for r in page_sender.send([page])] == ["queued"]
    assert statuses(runtime, [page]) == {page: "queued"}
    fake_twilio.set_faults()
    assert [r.status for r in page_sender.send([page])] == ["sent"]
    assert len(fake_twilio.messages(to=OK)) == 1


class RedisDown:
    def try_acquire(self, priority: bool = False, waiter: str | None = None) -> float:
        raise ConnectionError("Redis is down")


def test_a_page_redis_kept_from_the_provider_is_queued_as_never_tried(
    runtime, page_sender, fake_twilio
):
    (page,) = queue_pages(runtime, [OK])
    page_sender.pacer = RedisDown()
    assert [r.status for r in page_sender.send([page])] == ["queued"]
    assert fake_twilio.messages() == []
    with runtime.database.session() as session:
        message = session.get(OutboundMessage, page)
        # Dated as written, so the sweep's "queued for REDRIVE_AFTER" re-drive is not pushed back.
        assert message.status == "queued" and message.updated_at == message.created_at
