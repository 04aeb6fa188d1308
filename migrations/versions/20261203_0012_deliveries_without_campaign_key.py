"""deliveries: no foreign key to campaigns, whose row-by-row check slowed planning

PostgreSQL checks a foreign key row by row: in EXPLAIN ANALYZE of planning 1,000,000
deliveries, confirming once per row that the one campaign being planned exists took 3.4 s
of 14 s, and planning ran 5 to 18% faster without the key (bench/plan.py).
Deliveries are only made by planning that campaign, and campaigns are never deleted; the
key to subscribers stays (its cascade is how a reader's data goes).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 13:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = "fk_deliveries_campaign_id_campaigns"
# SQLite rebuilds the table; reflecting only it (not the tables its keys name) is enough.
REFLECT = {"resolve_fks": False}


def upgrade() -> None:
    with op.batch_alter_table("deliveries", reflect_kwargs=REFLECT) as batch_op:
        batch_op.drop_constraint(KEY, type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("deliveries", reflect_kwargs=REFLECT) as batch_op:
        batch_op.create_foreign_key(KEY, "campaigns", ["campaign_id"], ["id"], ondelete="CASCADE")
