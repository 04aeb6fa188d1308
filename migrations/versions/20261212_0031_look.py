"""look: the publication's name, logo and accent colour, and a newsletter's own

Revision ID: 0031
Revises: 0029
Create Date: 2026-12-12 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOOK = (("logo_url", sa.String(2000)), ("logo_alt", sa.String(200)), ("accent", sa.String(7)))


def upgrade() -> None:
    with op.batch_alter_table("publication") as batch:
        batch.add_column(sa.Column("name", sa.String(200), server_default="", nullable=False))
        for name, kind in LOOK:
            batch.add_column(sa.Column(name, kind, server_default="", nullable=False))
    with op.batch_alter_table("newsletters") as batch:
        for name, kind in LOOK:
            batch.add_column(sa.Column(name, kind, server_default="", nullable=False))
        batch.add_column(sa.Column("footer_note", sa.Text(), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("newsletters") as batch:
        for name in ("footer_note", *(name for name, _ in reversed(LOOK))):
            batch.drop_column(name)
    with op.batch_alter_table("publication") as batch:
        for name in (*(name for name, _ in reversed(LOOK)), "name"):
            batch.drop_column(name)
