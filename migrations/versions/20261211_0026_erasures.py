"""erasures: the keyed hashes of addresses erased at their reader's request

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-11 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import broadsheet.models.base

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "erasures",
        sa.Column("address_hash", sa.String(length=64), nullable=False),
        sa.Column("erased_at", broadsheet.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("address_hash", name=op.f("pk_erasures")),
    )


def downgrade() -> None:
    op.drop_table("erasures")
