"""The claim's plan on PostgreSQL, with the statistics a real ledger has.

A real ledger is mostly settled texts, so autoanalyze tells the planner that
"queued" is rare. A plan chosen on that belief must still claim a chunk's texts
by reading that chunk, not every queued row of a large broadcast: the plan made
for each claim's values, and the generic one PostgreSQL keeps for a statement a
sender's connection has prepared. The sender's watch must not make that
connection forget it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text, update

from service.database import Database
from service.domain.broadcasts import chunks, claims, planning
from service.domain.broadcasts.sender import Watch
from service.models import OutboundMessage, utcnow
from tests.broadcasts.test_fanout import confirmed, plan

RECIPIENTS = 1200  # several chunks
PREPARED_AFTER = 5  # runs of a statement before psycopg prepares it (prepare_threshold)


def rows_read(node: dict, table: str) -> int:
    """Rows the plan's scans of `table` produced or filtered out, over all loops."""
    read = 0
    if node.get("Relation Name") == table and node["Node Type"].endswith("Scan"):
        per_loop = node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
        read += per_loop * node.get("Actual Loops", 1)
    for child in node.get("Plans", []):
        read += rows_read(child, table)
    return read


def skip_unless_postgresql(runtime) -> None:  # type: ignore[no-untyped-def]
    if runtime.database.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's planner and statistics")


def a_chunk_beside_a_settled_broadcast(runtime, organizer, seed) -> dict:  # type: ignore[no-untyped-def]
    """The parameters of a claim in the last chunk of a broadcast being sent, with
    statistics gathered while the ledger held another, settled, broadcast."""
    seed(RECIPIENTS)
    settled = confirmed(runtime, organizer)
    plan(runtime, settled)
    with runtime.database.session() as session:
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.broadcast_id == settled)
            .values(status="delivered")
        )
        session.execute(text("ANALYZE outbound_messages"))
    broadcast_id = confirmed(runtime, organizer)
    chunk_id = plan(runtime, broadcast_id)[-1]
    now = utcnow()
    with runtime.database.session() as session:
        lease = chunks.take_chunk(session, chunk_id, "explained", now)
    assert lease is not None
    return {
        "claim_broadcast_id": lease.broadcast_id,
        "claim_after_id": lease.after_id,
        "claim_through_id": lease.through_id,
        "claim_chunk_id": lease.chunk_id,
        "claim_token": lease.token,
        "claim_limit": 32,
        "claim_now": now,
        "ids": [],
        "sids": [],
        "now": now,
    }


STATEMENTS = pytest.mark.parametrize(
    "statement",
    [claims._CLAIM, claims._RECORD_AND_CLAIM],
    ids=["claim", "record and claim"],
)


@STATEMENTS
def test_a_claim_reads_its_chunk_only_whatever_the_statistics_say(
    runtime, organizer, seed, statement
):
    skip_unless_postgresql(runtime)
    parameters = a_chunk_beside_a_settled_broadcast(runtime, organizer, seed)
    with runtime.database.engine.connect() as connection:
        compiled = statement.compile(dialect=connection.dialect)
        [[explained]] = connection.exec_driver_sql(
            "EXPLAIN (ANALYZE, FORMAT JSON) " + str(compiled),
            {**compiled.params, **parameters},
        ).all()
        connection.rollback()  # EXPLAIN ANALYZE ran the claim

    top = explained[0]["Plan"]
    assert top["Actual Rows"] == 32  # it did claim
    assert rows_read(top, "outbound_messages") <= 2 * planning.CHUNK_SIZE


@STATEMENTS
def test_the_plan_made_once_for_every_claim_also_reads_its_chunk_only(
    runtime, organizer, seed, statement
):
    """A sender's connection prepares the claim after a few runs, and PostgreSQL then
    plans it once, without the parameters' values (a generic plan): that plan, too,
    must find the chunk's texts through the (broadcast, subscriber) index."""
    skip_unless_postgresql(runtime)
    parameters = a_chunk_beside_a_settled_broadcast(runtime, organizer, seed)
    with runtime.database.engine.connect() as connection:
        connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
        compiled = statement.compile(dialect=connection.dialect)
        cursor = connection.connection.driver_connection.cursor()
        before = ledger_reads(connection)
        cursor.execute(str(compiled), {**compiled.params, **parameters}, prepare=True)
        claimed = len(cursor.fetchall())
        after = ledger_reads(connection)
        generic_plans = connection.exec_driver_sql(
            "SELECT sum(generic_plans) FROM pg_prepared_statements"
        ).scalar()
        connection.rollback()

    assert generic_plans >= 1
    assert claimed == 32
    fetched, scanned = (a - b for a, b in zip(after, before, strict=True))
    assert scanned == 0
    assert fetched <= 2 * planning.CHUNK_SIZE


def ledger_reads(connection) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Ledger rows this backend has fetched through indexes and read in sequential
    scans, not yet reported (so counting from before this transaction, too)."""
    fetched, scanned = connection.exec_driver_sql(
        "SELECT idx_tup_fetch, seq_tup_read FROM pg_stat_xact_user_tables"
        " WHERE relname = 'outbound_messages'"
    ).one()
    return fetched, scanned


def test_the_watch_leaves_the_claim_prepared(runtime):
    """The watch reads on the pool the sender claims from. psycopg forgets every
    prepared statement of a connection that rolls back, and the claim, run every few
    texts, would be parsed and planned afresh each time."""
    skip_unless_postgresql(runtime)
    database = Database(runtime.database.url)  # a pool of its own: one connection, reused
    now = utcnow()
    try:
        with database.autocommit() as connection:
            for _ in range(PREPARED_AFTER + 1):
                claims.record_and_claim(connection, runtime.vault, {}, chunks.NOWHERE, 0, now)
            assert claim_prepared(connection)
        watch = Watch(database, chunks.NOWHERE, inflight=frozenset({1}))
        watch.check(now)
        assert watch.aborted.is_set()  # it did read: no such broadcast is sending
        with database.autocommit() as connection:
            assert claim_prepared(connection)
    finally:
        database.dispose()


def claim_prepared(connection) -> bool:  # type: ignore[no-untyped-def]
    return bool(
        connection.exec_driver_sql(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE 'WITH claimed%%'"
        ).scalar()
    )
