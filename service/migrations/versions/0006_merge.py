"""merge the broadcasts, alerts, API and outbox branches into one head

The four were written side by side from 0001; a new migration now has one
parent to name.

Revision ID: 0006
Revises: 0002, 0003, 0004, 0005
"""

revision = "0006"
down_revision = ("0002", "0003", "0004", "0005")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
