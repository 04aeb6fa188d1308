"""subscriber_tags, one row per reader and tag, and subscribers.attributes (JSON)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-09 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "subscriber_tags",
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name=op.f("fk_subscriber_tags_subscriber_id_subscribers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("subscriber_id", "tag", name=op.f("pk_subscriber_tags")),
    )
    op.create_index("ix_subscriber_tags_tag_reader", "subscriber_tags", ["tag", "subscriber_id"])
    with op.batch_alter_table("subscribers") as batch:
        batch.add_column(sa.Column("attributes", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_column("attributes")
    op.drop_index("ix_subscriber_tags_tag_reader", table_name="subscriber_tags")
    op.drop_table("subscriber_tags")
