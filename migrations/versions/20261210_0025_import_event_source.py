"""subscriber_events: "import" as the source of a reader's first event, for readers brought
over from another sender by `broadsheet import-subscribers`

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-10 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_SOURCES = (
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
NEW_SOURCES = (*OLD_SOURCES, "import")
# SQLite rebuilds the table; reflecting only it (not the tables its keys name) is enough.
REFLECT = {"resolve_fks": False}


def _source(values: Sequence[str]) -> sa.Enum:
    return sa.Enum(
        *values, name="event_source", native_enum=False, create_constraint=True, length=16
    )


def _swap(old: Sequence[str], new: Sequence[str]) -> None:
    """The source's CHECK replaced. PostgreSQL swaps the constraint in place; SQLite, which
    cannot alter a CHECK, rebuilds the table (batch mode)."""
    with op.batch_alter_table("subscriber_events", reflect_kwargs=REFLECT) as batch_op:
        batch_op.alter_column(
            "source", existing_type=_source(old), type_=_source(new), existing_nullable=False
        )


def upgrade() -> None:
    _swap(OLD_SOURCES, NEW_SOURCES)


def downgrade() -> None:
    op.execute("DELETE FROM subscriber_events WHERE source = 'import'")
    _swap(NEW_SOURCES, OLD_SOURCES)
