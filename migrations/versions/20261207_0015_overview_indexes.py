"""subscriber_events by time, bounce_reports by kind and by campaign: for the overview

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_subscriber_events_at",
        "subscriber_events",
        ["at", "to_status", "from_status"],
        unique=False,
    )
    op.create_index("ix_bounce_reports_kind_id", "bounce_reports", ["kind", "id"], unique=False)
    op.create_index(
        "ix_bounce_reports_campaign_id_kind",
        "bounce_reports",
        ["campaign_id", "kind"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_bounce_reports_campaign_id_kind", table_name="bounce_reports")
    op.drop_index("ix_bounce_reports_kind_id", table_name="bounce_reports")
    op.drop_index("ix_subscriber_events_at", table_name="subscriber_events")
