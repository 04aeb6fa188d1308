"""newsletters and memberships: each reader's place in each newsletter, with its own status;
the readers there are join a default newsletter named after the publication (MAIL_FROM's
display name), and a campaign keeps the newsletters it goes to (`audience_rules`)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-09 09:00:00
"""

import os
import re
from collections.abc import Sequence
from email.utils import parseaddr

import sqlalchemy as sa
from alembic import op

import broadsheet.models.base

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _publication() -> tuple[str, str]:
    """The default newsletter's name and slug: the publication's, as its mail is signed."""
    name = parseaddr(os.environ.get("MAIL_FROM") or "")[0].strip()[:200] or "Newsletter"
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64] or "newsletter"
    return name, slug


def upgrade() -> None:
    op.create_table(
        "newsletters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("public", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("sender_name", sa.String(length=200), server_default="", nullable=False),
        sa.Column("sender_address", sa.String(length=320), server_default="", nullable=False),
        sa.Column("reply_to", sa.String(length=320), server_default="", nullable=False),
        sa.Column("welcome", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", broadsheet.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_newsletters")),
        sa.UniqueConstraint("slug", name=op.f("uq_newsletters_slug")),
    )
    op.create_table(
        "memberships",
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("newsletter_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "subscribed",
                "unsubscribed",
                name="membership_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("created_at", broadsheet.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("changed_at", broadsheet.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["newsletter_id"],
            ["newsletters.id"],
            name=op.f("fk_memberships_newsletter_id_newsletters"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name=op.f("fk_memberships_subscriber_id_subscribers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("subscriber_id", "newsletter_id", name=op.f("pk_memberships")),
    )
    op.create_index(
        "ix_memberships_newsletter_status_reader",
        "memberships",
        ["newsletter_id", "status", "subscriber_id"],
    )
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("audience_rules", sa.JSON(), nullable=True))

    name, slug = _publication()
    now = sa.func.current_timestamp()
    newsletters = sa.table(
        "newsletters",
        sa.column("id", sa.Integer()), sa.column("name", sa.String()),
        sa.column("slug", sa.String()), sa.column("is_default", sa.Boolean()),
        sa.column("created_at", sa.DateTime()),
    )  # fmt: skip
    op.execute(newsletters.insert().values(name=name, slug=slug, is_default=True, created_at=now))
    # Every reader there is joins it, in one statement (the reader's own status still rules).
    op.execute(
        "INSERT INTO memberships (subscriber_id, newsletter_id, status, created_at, changed_at) "
        "SELECT s.id, n.id, 'subscribed', s.created_at, s.created_at "
        "FROM subscribers s CROSS JOIN newsletters n WHERE n.is_default"
    )


def downgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("audience_rules")
    op.drop_index("ix_memberships_newsletter_status_reader", table_name="memberships")
    op.drop_table("memberships")
    op.drop_table("newsletters")
