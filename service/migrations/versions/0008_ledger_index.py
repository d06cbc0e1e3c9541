"""outbound_messages: drop the index on broadcast_id alone

The unique (broadcast_id, subscriber_id) index starts with the same column and
serves every look-up by broadcast. Each text's row is written three times (planned,
claimed, recorded), and each write maintained both.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_outbound_messages_broadcast_id", table_name="outbound_messages")


def downgrade() -> None:
    op.create_index(
        "ix_outbound_messages_broadcast_id", "outbound_messages", ["broadcast_id"], unique=False
    )
