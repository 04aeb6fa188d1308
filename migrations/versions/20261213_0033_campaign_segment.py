"""campaigns.segment_id: the saved segment a campaign not yet started goes to, read as it is
now and frozen into `audience_rules` when the send starts

Campaigns already there keep the copy of a segment's rules they were made with: they count as
frozen (no segment_id), so none of them changes audience by upgrading.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-13 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING = sa.text("segment_id IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("segment_id", sa.Integer(), nullable=True))
    op.create_index(
        "ix_campaigns_segment_id",
        "campaigns",
        ["segment_id"],
        sqlite_where=WAITING,
        postgresql_where=WAITING,
    )


def downgrade() -> None:
    """Campaigns still reading a segment take a copy of its rules first, as they used to."""
    campaigns = sa.table(
        "campaigns", sa.column("id"), sa.column("segment_id"), sa.column("audience_rules", sa.JSON)
    )
    segments = sa.table("segments", sa.column("id"), sa.column("name"), sa.column("rules", sa.JSON))
    conn = op.get_bind()
    waiting = sa.select(
        campaigns.c.id, campaigns.c.audience_rules, segments.c.name, segments.c.rules
    )
    for campaign_id, own, name, rules in conn.execute(
        waiting.join(segments, segments.c.id == campaigns.c.segment_id)
    ):
        frozen = {**rules, **(own or {}), "segment": name}
        conn.execute(
            campaigns.update().where(campaigns.c.id == campaign_id).values(audience_rules=frozen)
        )
    op.drop_index("ix_campaigns_segment_id", table_name="campaigns")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("segment_id")
