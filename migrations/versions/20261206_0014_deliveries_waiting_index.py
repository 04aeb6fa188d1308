"""deliveries: a partial index of the rows waiting for a retry time

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 20:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING = sa.text("status = 'queued' AND next_attempt_at IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_deliveries_waiting",
        "deliveries",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=WAITING,
        sqlite_where=WAITING,
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_waiting", table_name="deliveries")
