"""engagement_reports: per campaign, the hits written so far (moved with each drained batch)
and a large campaign's figures as last counted by the tick; filled from the hits already in

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import broadsheet.models.base

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "engagement_reports",
        sa.Column("campaign_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("hits", sa.BigInteger(), nullable=False),
        sa.Column("counted_hits", sa.BigInteger(), nullable=True),
        sa.Column("counted_at", broadsheet.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("figures", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_engagement_reports")),
    )
    # The hits recorded before: one pass over each record, once.
    op.execute(
        "INSERT INTO engagement_reports (campaign_id, hits) "
        "SELECT campaign_id, SUM(n) FROM ("
        " SELECT campaign_id, COUNT(*) AS n FROM engagements GROUP BY campaign_id"
        " UNION ALL"
        " SELECT campaign_id, SUM(count) AS n FROM engagement_counts GROUP BY campaign_id"
        ") AS recorded GROUP BY campaign_id"
    )


def downgrade() -> None:
    op.drop_table("engagement_reports")
