"""deliveries.suppressed: a reader who left before their turn, told by a column, not by text

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUPPRESSED_ERROR = "suppressed: the reader is no longer active"


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("suppressed", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    # Until this revision the error text was the only record of it.
    op.execute(
        sa.text(
            "UPDATE deliveries SET suppressed = :yes WHERE status = 'failed' AND last_error = :e"
        ).bindparams(yes=True, e=SUPPRESSED_ERROR)
    )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("suppressed")
