"""outbound_messages.to_hash: the keyed hash of a bare number a text is addressed to

A text to a number with no subscriber or person row (a reporter's notice) holds
the number encrypted, and each encryption differs: without the hash, the look-up
of unknown texts could not tell that two of them went to one number. Rows written
before this revision keep no hash (computing it needs the secret key, which a
migration does not have); unknown texts are looked up for six hours only, so they
age out of the question within that time.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outbound_messages", sa.Column("to_hash", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbound_messages") as batch:
        batch.drop_column("to_hash")
