"""campaigns: preheader, audience, and the last link check and test send

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("preheader", sa.String(length=300), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("audience", sa.String(length=64), server_default="everyone", nullable=False)
        )
        batch_op.add_column(sa.Column("link_report", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("test_report", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("test_report")
        batch_op.drop_column("link_report")
        batch_op.drop_column("audience")
        batch_op.drop_column("preheader")
