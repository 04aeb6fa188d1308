"""articles: an index for the admin's list, newest published first

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 15:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_articles_published_at_id", "articles", ["published_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_articles_published_at_id", table_name="articles")
