"""The claim's plan on PostgreSQL, with the statistics a real ledger has.

A real ledger is mostly settled texts, so autoanalyze tells the planner that
"queued" is rare. A plan chosen on that belief must still claim a chunk's texts
by reading that chunk, not every queued row of a large broadcast.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text, update

from service.domain.broadcasts import chunks, claims, planning
from service.models import OutboundMessage, utcnow
from tests.broadcasts.test_fanout import confirmed, plan

RECIPIENTS = 1200  # several chunks


def rows_read(node: dict, table: str) -> int:
    """Rows the plan's scans of `table` produced or filtered out, over all loops."""
    read = 0
    if node.get("Relation Name") == table and node["Node Type"].endswith("Scan"):
        per_loop = node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
        read += per_loop * node.get("Actual Loops", 1)
    for child in node.get("Plans", []):
        read += rows_read(child, table)
    return read


@pytest.mark.parametrize(
    "statement",
    [claims._CLAIM, claims._RECORD_AND_CLAIM],
    ids=["claim", "record and claim"],
)
def test_a_claim_reads_its_chunk_only_whatever_the_statistics_say(
    runtime, organizer, seed, statement
):
    if runtime.database.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's planner and statistics")
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

    parameters = {
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
