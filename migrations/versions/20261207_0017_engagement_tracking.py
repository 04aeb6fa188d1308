"""engagement tracking: opens and clicks (per reader, or counts only), the campaign's switch
and link list, and the campaign a reader's unsubscribe or complaint came from

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import broadsheet.models.base

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _kind() -> sa.Enum:
    return sa.Enum(
        "open", "click", name="engagement_kind", native_enum=False, create_constraint=True,
        length=16,
    )  # fmt: skip


def upgrade() -> None:
    # Adding columns with a constant default: SQLite alters in place, so no table is rebuilt.
    op.add_column(
        "campaigns", sa.Column("tracking", sa.Boolean(), server_default=sa.true(), nullable=False)
    )
    op.add_column("campaigns", sa.Column("tracking_links", sa.JSON(), nullable=True))
    op.add_column("subscriber_events", sa.Column("campaign_id", sa.Integer(), nullable=True))
    op.create_index(
        "ix_subscriber_events_campaign_id_source",
        "subscriber_events",
        ["campaign_id", "source"],
        unique=False,
    )
    op.create_table(
        "engagements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("kind", _kind(), nullable=False),
        sa.Column("link_index", sa.Integer(), nullable=True),
        sa.Column("human", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("at", broadsheet.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engagements")),
    )
    op.create_index(
        "ix_engagements_campaign_kind_human_delivery",
        "engagements",
        ["campaign_id", "kind", "human", "delivery_id"],
        unique=False,
    )
    op.create_table(
        "engagement_counts",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("kind", _kind(), nullable=False),
        sa.Column("link_index", sa.Integer(), nullable=False),
        sa.Column("human", sa.Boolean(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "campaign_id", "kind", "link_index", "human", name=op.f("pk_engagement_counts")
        ),
    )
    op.create_table(
        "tracking_batches",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("at", broadsheet.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracking_batches")),
    )
    op.create_index("ix_tracking_batches_at", "tracking_batches", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_tracking_batches_at", table_name="tracking_batches")
    op.drop_table("tracking_batches")
    op.drop_table("engagement_counts")
    op.drop_index("ix_engagements_campaign_kind_human_delivery", table_name="engagements")
    op.drop_table("engagements")
    op.drop_index("ix_subscriber_events_campaign_id_source", table_name="subscriber_events")
    with op.batch_alter_table("subscriber_events", schema=None) as batch_op:
        batch_op.drop_column("campaign_id")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("tracking_links")
        batch_op.drop_column("tracking")
