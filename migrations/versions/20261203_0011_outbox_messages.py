"""outbox_messages: mail owed to a reader, committed with the signup and sent by a sweep

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 07:00:00
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

import broadsheet.models.base

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ("confirmation",)
STATUSES = ("pending", "sending", "sent", "failed", "unknown")
OPEN = sa.text("status IN ('pending', 'sending')")


def _enum(values: Sequence[str], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def _when(name: str, nullable: bool = True) -> sa.Column[datetime]:
    return sa.Column(name, broadsheet.models.base.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", _enum(KINDS, "outbox_kind"), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("status", _enum(STATUSES, "outbox_status"), nullable=False),
        _when("created_at", nullable=False),
        _when("due_at", nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        _when("lease_expires_at"),
        _when("attempted_at"),
        _when("sent_at"),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("relay_reply", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name=op.f("fk_outbox_messages_subscriber_id_subscribers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
    )
    op.create_index("ix_outbox_messages_status_due_at", "outbox_messages", ["status", "due_at"])
    op.create_index("ix_outbox_messages_claimed_by", "outbox_messages", ["claimed_by"])
    op.create_index(
        "uq_outbox_messages_open",
        "outbox_messages",
        ["subscriber_id", "kind"],
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )


def downgrade() -> None:
    op.drop_table("outbox_messages")
