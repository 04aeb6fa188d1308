"""look: the publication's name, logo and accent colour, and a newsletter's own; outbox kind
"data_export" (a reader's data, mailed to them)

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-12 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOOK = (("logo_url", sa.String(2000)), ("logo_alt", sa.String(200)), ("accent", sa.String(7)))
OLD_KINDS = ("confirmation", "welcome", "campaign_sent", "campaign_paused")
NEW_KINDS = (*OLD_KINDS, "data_export")
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
    with op.batch_alter_table("publication") as batch:
        batch.add_column(sa.Column("name", sa.String(200), server_default="", nullable=False))
        for name, kind in LOOK:
            batch.add_column(sa.Column(name, kind, server_default="", nullable=False))
    with op.batch_alter_table("newsletters") as batch:
        for name, kind in LOOK:
            batch.add_column(sa.Column(name, kind, server_default="", nullable=False))
        batch.add_column(sa.Column("footer_note", sa.Text(), server_default="", nullable=False))
    _swap(OLD_KINDS, NEW_KINDS)


def downgrade() -> None:
    op.execute("DELETE FROM outbox_messages WHERE kind = 'data_export'")
    _swap(NEW_KINDS, OLD_KINDS)
    with op.batch_alter_table("newsletters") as batch:
        for name in ("footer_note", *(name for name, _ in reversed(LOOK))):
            batch.drop_column(name)
    with op.batch_alter_table("publication") as batch:
        for name in (*(name for name, _ in reversed(LOOK)), "name"):
            batch.drop_column(name)
