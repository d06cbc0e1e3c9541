"""Everything a process needs, built once from the configuration.

The web app, the RQ workers and the CLI all start from a Runtime, so they
share one way of reaching the database, Redis, the queues and the gateway.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import redis
from rq import Retry

from service.config import Config
from service.database import Database
from service.domain.context import Effect
from service.domain.inbound import OPT_IN_COMMANDS, OPT_OUT_COMMANDS, Outcome
from service.gateway import SmsGateway, build_gateway
from service.models import utcnow
from service.optout_fence import OptOutFence
from service.queues import Queues
from service.redis_connection import connect, embedded_redis_url
from service.vault import Vault

log = logging.getLogger(__name__)

# Backoff for retryable provider errors (429, 5xx): RQ's own Retry, run by the scheduler.
SEND_RETRY = Retry(max=6, interval=[1, 2, 5, 10, 30, 60])


@dataclass
class Runtime:
    config: Config

    @cached_property
    def database(self) -> Database:
        return Database(self.config.database_url)

    @cached_property
    def redis_url(self) -> str:
        return self.config.redis_url or embedded_redis_url(self.config.var_dir)

    @cached_property
    def redis(self) -> redis.Redis:
        return connect(self.redis_url)

    @cached_property
    def queues(self) -> Queues:
        return Queues(self.redis)

    @cached_property
    def vault(self) -> Vault:
        return Vault(self.config.secret_key)

    @cached_property
    def gateway(self) -> SmsGateway:
        return build_gateway(self.config)

    @cached_property
    def pacer(self):  # type: ignore[no-untyped-def]
        from workers.pacing import RateLimiter

        return RateLimiter(self.redis, self.config.send_rate_per_second)

    @cached_property
    def fence(self) -> OptOutFence:
        return OptOutFence(self.redis)

    def after_inbound(self, outcome: Outcome) -> None:
        """What follows a committed inbound text, before its answer goes out.

        An opt-out seals the number and waits for any text to it still in flight, so
        nothing can reach the phone after the confirmation; an opt-in lifts the seal.
        Then the text's follow-up work is handed to RQ.
        """
        try:
            if outcome.command in OPT_OUT_COMMANDS:
                self.fence.seal(outcome.phone_hash)
            elif outcome.command in OPT_IN_COMMANDS:
                self.fence.unseal(outcome.phone_hash)
        except redis.RedisError as exc:
            # Nothing is sent while Redis is down (the rate limiter lives there); the
            # database's opt-out, checked at every claim, holds on its own.
            log.warning("opt-out fence unavailable: %s", type(exc).__name__)
        if outcome.outbox_ids:
            self.hand_over(outcome.outbox_ids)

    def close(self) -> None:
        """Release connections (the embedded Redis stops only when its last client leaves)."""
        if "database" in self.__dict__:
            self.database.dispose()
        if "redis" in self.__dict__:
            self.redis.connection_pool.disconnect()

    def hand_over(self, outbox_ids: Iterable[int]) -> int:
        """Give committed outbox entries to RQ; what Redis refuses waits for the sweep."""
        from service.domain import outbox

        with self.database.session() as session:
            return outbox.hand_over(session, list(outbox_ids), self.enqueue, utcnow())

    def enqueue(self, effect: Effect) -> bool:
        """Hand an effect to RQ. A failure is logged, not raised: the sweep re-drives it."""
        queue = {q.name: q for q in self.queues.all()}[effect.queue]
        try:
            queue.enqueue(
                effect.function,
                *effect.args,
                job_id=effect.job_id,
                retry=SEND_RETRY,
                failure_ttl=7 * 86400,
            )
        except redis.RedisError as exc:
            log.warning(
                "could not enqueue %s (%s); the sweep will pick it up", effect.function, exc
            )
            return False
        return True
