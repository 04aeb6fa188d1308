"""outbox kind "welcome": the mail a reader gets once, after confirming

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-11 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = ("confirmation", "campaign_sent", "campaign_paused")
NEW_KINDS = ("confirmation", "welcome", "campaign_sent", "campaign_paused")
# SQLite rebuilds the table; reflecting only it (not the tables its keys name) is enough.
REFLECT = {"resolve_fks": False}


def _kind(values: Sequence[str]) -> sa.Enum:
    return sa.Enum(
        *values, name="outbox_kind", native_enum=False, create_constraint=True, length=16
    )


def _swap(old: Sequence[str], new: Sequence[str]) -> None:
    """The kind's CHECK replaced: in place on PostgreSQL, the table rebuilt on SQLite."""
    with op.batch_alter_table("outbox_messages", reflect_kwargs=REFLECT) as batch_op:
        batch_op.alter_column(
            "kind", existing_type=_kind(old), type_=_kind(new), existing_nullable=False
        )


def upgrade() -> None:
    _swap(OLD_KINDS, NEW_KINDS)


def downgrade() -> None:
    op.execute("DELETE FROM outbox_messages WHERE kind = 'welcome'")
    _swap(NEW_KINDS, OLD_KINDS)
