"""engagements.subscriber_id indexed: one reader's opens and clicks are read by their data
export, their erasure (which anonymises them) and a segment's "why is this reader in it?"
(never_engaged), each of which otherwise read every row of the table

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-13 12:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_engagements_subscriber_id", "engagements", ["subscriber_id"])


def downgrade() -> None:
    op.drop_index("ix_engagements_subscriber_id", table_name="engagements")
