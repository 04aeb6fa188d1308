"""feeds: RSS and Atom feeds whose new entries become articles and campaigns, and the
entries seen in each (unique per feed by key, so an entry is new once)

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-11 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import broadsheet.models.base

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = broadsheet.models.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("newsletter_id", sa.Integer(), nullable=True),
        sa.Column("send_now", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("etag", sa.String(length=500), nullable=True),
        sa.Column("last_modified", sa.String(length=100), nullable=True),
        sa.Column("last_polled_at", UTC_TIME, nullable=True),
        sa.Column("last_ok_at", UTC_TIME, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", UTC_TIME, nullable=True),
        sa.Column("failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("paused", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["newsletter_id"],
            ["newsletters.id"],
            name=op.f("fk_feeds_newsletter_id_newsletters"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feeds")),
        sa.UniqueConstraint("url", name=op.f("uq_feeds_url")),
    )
    op.create_table(
        "feed_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=2000), nullable=False),
        sa.Column("link", sa.String(length=2000), nullable=True),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("seen_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_feed_entries_article_id_articles"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["feed_id"],
            ["feeds.id"],
            name=op.f("fk_feed_entries_feed_id_feeds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_entries")),
        sa.UniqueConstraint("feed_id", "key", name=op.f("uq_feed_entries_feed_id_key")),
    )
    op.create_index(op.f("ix_feed_entries_link"), "feed_entries", ["link"])


def downgrade() -> None:
    op.drop_index(op.f("ix_feed_entries_link"), table_name="feed_entries")
    op.drop_table("feed_entries")
    op.drop_table("feeds")
