"""deliveries: index (campaign, status, id) for the range queries of sending

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 19:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deliveries_campaign_status_id", ["campaign_id", "status", "id"], unique=False
        )
        batch_op.drop_index("ix_deliveries_campaign_status")


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deliveries_campaign_status", ["campaign_id", "status"], unique=False
        )
        batch_op.drop_index("ix_deliveries_campaign_status_id")
