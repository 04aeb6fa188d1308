"""memberships.left_through: the campaign whose unsubscribe link a reader left one newsletter
through, so that campaign's unsubscribes count them

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-12 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEFT = sa.text("left_through IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("memberships") as batch:
        batch.add_column(sa.Column("left_through", sa.Integer(), nullable=True))
    op.create_index(
        "ix_memberships_left_through",
        "memberships",
        ["left_through"],
        sqlite_where=LEFT,
        postgresql_where=LEFT,
    )


def downgrade() -> None:
    op.drop_index("ix_memberships_left_through", table_name="memberships")
    with op.batch_alter_table("memberships") as batch:
        batch.drop_column("left_through")
