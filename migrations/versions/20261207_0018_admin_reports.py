"""outbox_messages for admins: a campaign's report (sent, or paused itself) to each admin
account, once per campaign and admin; subscriber_id becomes optional

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = ("confirmation",)
NEW_KINDS = ("confirmation", "campaign_sent", "campaign_paused")
# SQLite rebuilds the table; reflecting only it (not the tables its keys name) is enough.
REFLECT = {"resolve_fks": False}


def _kind(values: Sequence[str]) -> sa.Enum:
    return sa.Enum(
        *values, name="outbox_kind", native_enum=False, create_constraint=True, length=16
    )


def upgrade() -> None:
    # On SQLite the table is rebuilt (batch mode): the kind's CHECK and the column's NOT NULL
    # cannot be altered in place. The outbox holds little: what was sent is small rows.
    with op.batch_alter_table("outbox_messages", reflect_kwargs=REFLECT) as batch_op:
        batch_op.alter_column(
            "kind", existing_type=_kind(OLD_KINDS), type_=_kind(NEW_KINDS), existing_nullable=False
        )
        batch_op.alter_column("subscriber_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("campaign_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_messages_user_id_users"),
            "users",
            ["user_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_messages_campaign_id_campaigns"),
            "campaigns",
            ["campaign_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_outbox_messages_kind_campaign_id_user_id"),
            ["kind", "campaign_id", "user_id"],
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_outbox_messages_one_recipient"),
            sa.text("(subscriber_id IS NULL) <> (user_id IS NULL)"),
        )


def downgrade() -> None:
    op.execute("DELETE FROM outbox_messages WHERE subscriber_id IS NULL")
    with op.batch_alter_table("outbox_messages", reflect_kwargs=REFLECT) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_outbox_messages_one_recipient"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("uq_outbox_messages_kind_campaign_id_user_id"), type_="unique"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_outbox_messages_campaign_id_campaigns"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("fk_outbox_messages_user_id_users"), type_="foreignkey")
        batch_op.drop_column("campaign_id")
        batch_op.drop_column("user_id")
        batch_op.alter_column("subscriber_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column(
            "kind", existing_type=_kind(NEW_KINDS), type_=_kind(OLD_KINDS), existing_nullable=False
        )
