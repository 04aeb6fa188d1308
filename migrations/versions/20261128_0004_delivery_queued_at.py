"""delivery queued_at: the retry budget's age counts from the last time a row was queued

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 19:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import broadsheet.models.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    timestamp = broadsheet.models.base.UTCDateTime(timezone=True)
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("queued_at", timestamp, nullable=True))
    # Rows planned before this revision were queued when they were created.
    op.execute(sa.text("UPDATE deliveries SET queued_at = created_at"))
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.alter_column("queued_at", existing_type=timestamp, nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("queued_at")
