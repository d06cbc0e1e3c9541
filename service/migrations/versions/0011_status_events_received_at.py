"""status_events: an index on received_at, for the clock's catch-up pass

The pass reads the callbacks received in the last few seconds and applies those
the ledger missed (a callback handled while the worker's record of the text was
still uncommitted, or a worker killed between recording and applying).

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_status_events_received_at", "status_events", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_status_events_received_at", table_name="status_events")
