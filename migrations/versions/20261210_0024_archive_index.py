"""archive index: sent campaigns newest first by when they finished, for the public archive's
keyset pages (broadsheet.services.archive)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-10 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_campaigns_status_finished_at_id", "campaigns", ["status", "finished_at", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_campaigns_status_finished_at_id", table_name="campaigns")
