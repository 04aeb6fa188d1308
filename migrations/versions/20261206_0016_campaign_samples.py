"""campaign_samples: a sending campaign's counts every tick; campaigns.failures kept groups

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 23:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import broadsheet.models.base

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaign_samples",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("at", broadsheet.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("bounced", sa.Integer(), nullable=False),
        sa.Column("unknown", sa.Integer(), nullable=False),
        sa.Column("queued", sa.Integer(), nullable=False),
        sa.Column("sending", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_samples_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_samples")),
    )
    op.create_index("ix_campaign_samples_campaign_id_at", "campaign_samples", ["campaign_id", "at"])
    # A nullable column: SQLite alters in place, so the table is not rebuilt.
    op.add_column("campaigns", sa.Column("failures", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("failures")
    op.drop_index("ix_campaign_samples_campaign_id_at", table_name="campaign_samples")
    op.drop_table("campaign_samples")
