"""What the campaign ledger (deliveries) and the outbox share: a sender's hold on rows
(`claimed_by`, `lease_expires_at`, the row in flight by `attempted_at`), the one statement that
records an outcome and begins the next row, renewing a hold, and updates to held rows only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    Connection,
    Integer,
    Table,
    Update,
    bindparam,
    case,
    exists,
    func,
    null,
    select,
    update,
)
from sqlalchemy.orm import Session

from broadsheet.direct_sql import DirectStatement


class FinishAndBegin:
    """The finish-and-begin statement of one table (see `finish_and_begin_statement`), run
    by the driver directly on a Connection (the sending paths' hot connection, one statement
    per message) and through the ORM in a Session."""

    def __init__(self, table: Table, sending: str, kept: Sequence[str]) -> None:
        self.statement = finish_and_begin_statement(table, sending, kept)
        self._direct = DirectStatement(self.statement)

    def changed(self, db: Session | Connection, params: dict[str, object]) -> set[int]:
        """The ids of the rows it changed (of `:done` and `:next`, those `:key` held)."""
        if isinstance(db, Connection):
            return {row[0] for row in self._direct.rows(db, params)}
        return set(db.execute(self.statement, params).scalars())


def finish_and_begin_statement(table: Table, sending: str, kept: Sequence[str]) -> Update:
    """UPDATE of at most two held rows: `:done` gets `:status` and, from `kept`, each column
    whose parameter is not NULL, and leaves the hold; `:next` is marked in flight (`:now`,
    one more attempt). Both only while `:key` holds them. Build it once: its compiled form is
    cached, with no ORM in the way."""
    t = table
    done = t.c.id == bindparam("done", type_=Integer())
    going = t.c.id == bindparam("next", type_=Integer())

    def on_done(value, column):  # type: ignore[no-untyped-def]
        return case((done, value), else_=column)

    def keep(name: str):  # type: ignore[no-untyped-def]
        """The new value for the finished row when one is given, else the old one."""
        column = t.c[name]
        return on_done(func.coalesce(bindparam(name, type_=column.type), column), column)

    return (
        update(t)
        .where(
            t.c.id.in_([bindparam("done", type_=Integer()), bindparam("next", type_=Integer())]),
            t.c.claimed_by == bindparam("key"),
            t.c.status == sending,
        )
        .values(
            status=on_done(bindparam("status", type_=t.c.status.type), t.c.status),
            claimed_by=on_done(null(), t.c.claimed_by),
            lease_expires_at=on_done(null(), t.c.lease_expires_at),
            **{name: keep(name) for name in kept},
            attempted_at=case(
                (going, bindparam("now", type_=t.c.attempted_at.type)), else_=t.c.attempted_at
            ),
            attempts=case((going, t.c.attempts + 1), else_=t.c.attempts),
        )
        .returning(t.c.id)
    )


def update_held(
    session: Session,
    table: Table,
    sending: str,
    claim_key: str,
    row_ids: Sequence[int],
    values: dict[str, object],
) -> int:
    """Set `values` on those of `row_ids` that `claim_key` still holds; how many changed."""
    if not row_ids:
        return 0
    result = session.execute(
        update(table)
        .where(
            table.c.id.in_(row_ids),
            table.c.claimed_by == claim_key,
            table.c.status == sending,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def renew(session: Session, table: Table, sending: str, claim_key: str, until: datetime) -> bool:
    """Extend a live sender's hold; False when it holds nothing any more (the tick settled it
    after its lease ran out). Rows the sender is writing at this moment are skipped rather
    than waited for (on PostgreSQL), so the renewal never deadlocks with it."""
    held = (table.c.claimed_by == claim_key, table.c.status == sending)
    free = select(table.c.id).where(*held).with_for_update(skip_locked=True)
    result = session.execute(
        update(table)
        .where(table.c.id.in_(free.scalar_subquery()), *held)
        .values(lease_expires_at=until)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        return True
    return session.scalar(select(exists().where(*held))) is True
