"""subscribers: their status history, and indexes for the admin's list and search

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import broadsheet.models.base

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("pending", "active", "unsubscribed", "bounced", "complained")
SOURCES = (
    "signup",
    "confirm",
    "unsubscribe link",
    "one-click",
    "bounce",
    "soft bounces",
    "complaint",
    "api",
    "admin",
)


def _enum(values: Sequence[str], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def upgrade() -> None:
    op.create_table(
        "subscriber_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("at", broadsheet.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("from_status", _enum(STATUSES, "from_status"), nullable=True),
        sa.Column("to_status", _enum(STATUSES, "to_status"), nullable=False),
        sa.Column("source", _enum(SOURCES, "event_source"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=320), nullable=True),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name=op.f("fk_subscriber_events_subscriber_id_subscribers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriber_events")),
    )
    with op.batch_alter_table("subscriber_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_subscriber_events_subscriber_id_id", ["subscriber_id", "id"], unique=False
        )

    # (status, id) serves "in this status, newest first" and everything (status) served.
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.drop_index("ix_subscribers_status")
        batch_op.create_index("ix_subscribers_status_id", ["status", "id"], unique=False)
        batch_op.create_index(
            "ix_subscribers_email_key_prefix",
            ["email_key"],
            unique=False,
            postgresql_ops={"email_key": "varchar_pattern_ops"},
        )
    # An expression index; the operator class is PostgreSQL's alone.
    pattern = " varchar_pattern_ops" if op.get_context().dialect.name == "postgresql" else ""
    op.create_index("ix_subscribers_name_prefix", "subscribers", [sa.text(f"lower(name){pattern}")])


def downgrade() -> None:
    op.drop_index("ix_subscribers_name_prefix", table_name="subscribers")
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.drop_index("ix_subscribers_email_key_prefix")
        batch_op.drop_index("ix_subscribers_status_id")
        batch_op.create_index("ix_subscribers_status", ["status"], unique=False)
    with op.batch_alter_table("subscriber_events", schema=None) as batch_op:
        batch_op.drop_index("ix_subscriber_events_subscriber_id_id")
    op.drop_table("subscriber_events")
