"""campaigns.counts: a large campaign's deliveries by status as last counted, and when

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import broadsheet.models.base

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Adding nullable columns: SQLite alters in place, so the table is not rebuilt.
    op.add_column("campaigns", sa.Column("counts", sa.JSON(), nullable=True))
    op.add_column(
        "campaigns",
        sa.Column("counted_at", broadsheet.models.base.UTCDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("counted_at")
        batch_op.drop_column("counts")
