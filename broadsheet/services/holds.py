"""Rows a sender holds while it sends them, exactly once: what the campaign ledger
(`deliveries`, broadsheet/services/claims.py) and the outbox (`outbox_messages`,
broadsheet/services/outbox_queue.py) share, written once over either table.

A sender's hold is `claimed_by` (its claim key) and `lease_expires_at`; a held row is in flight
when `attempted_at` is set. The sender records each outcome in the statement that marks the
next row in flight (`finish_and_begin`), so a sender that dies leaves at most one row whose
fate is unknown. Every change here touches only rows the given claim still holds.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Case,
    Column,
    ColumnElement,
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

from broadsheet.db import rowcount
from broadsheet.direct_sql import DirectStatement
from broadsheet.models import utcnow

UNKNOWN_ERROR = "outcome unknown: the worker stopped while this message was being sent"


@dataclass(frozen=True)
class Deferred:
    """What became of rows after a temporary failure: given up, or due again at `retry_at`."""

    failed: list[int]
    retried: list[int]
    retry_at: datetime | None


class Holds:
    """The hold verbs over one table, whose statuses (`statuses`) include SENDING, SENT,
    FAILED and UNKNOWN. `waiting` is the status of a row waiting to be sent; `due` the column
    it is not sent before; `kept` the columns an outcome may set (the reply, the error, ...);
    `queued_at`, when given, is where a row's age for RETRY_MAX_AGE counts from."""

    def __init__(
        self,
        table: Table,
        statuses: type[enum.StrEnum],
        *,
        waiting: str,
        due: str,
        kept: Sequence[str],
        queued_at: str | None = None,
    ) -> None:
        self.table, self.c = table, table.c
        self.waiting, self.sending, self.sent = waiting, statuses["SENDING"], statuses["SENT"]
        self.failed, self.unknown = statuses["FAILED"], statuses["UNKNOWN"]
        self.due: Column[Any] = table.c[due]
        self.queued_at = None if queued_at is None else table.c[queued_at]
        self.kept = tuple(kept)
        self._finish_and_begin = finish_and_begin_statement(table, self.sending, kept)
        self._direct = DirectStatement(self._finish_and_begin)

    # --- a sender's outcomes ---------------------------------------------------------------
    def finish_and_begin(self, db: Session | Connection, params: Mapping[str, object]) -> set[int]:
        """Record `:done`'s final `:status` (and each `kept` column given) and mark `:next` in
        flight, one statement; the ids of the rows it changed (those `:key` held). On a
        Connection (the sending paths' hot connection) the driver runs it directly."""
        if isinstance(db, Connection):
            return {row[0] for row in self._direct.rows(db, params)}
        return set(db.execute(self._finish_and_begin, params).scalars())

    def begin(self, session: Session, claim_key: str, row_id: int) -> bool:
        """Mark a held row as in flight (one more attempt). False when the claim no longer
        holds it (its lease ran out and it was settled): then do not send it."""
        values = {"attempted_at": utcnow(), "attempts": self.c.attempts + 1}
        return self.update_held(session, claim_key, [row_id], values) == 1

    def finish(
        self,
        session: Session,
        claim_key: str,
        row_ids: Sequence[int],
        status: str,
        **kept: object,
    ) -> int:
        """A final `status` for held rows, with the `kept` values given (None: unchanged);
        they leave the hold. A row finished `sent` gets `sent_at` if the table keeps it."""
        values: dict[str, object] = {"status": status, "claimed_by": None, "lease_expires_at": None}
        values.update((name, value) for name, value in kept.items() if value is not None)
        if status == self.sent and "sent_at" in self.c:
            values["sent_at"] = utcnow()
        return self.update_held(session, claim_key, row_ids, values)

    def give_back(
        self,
        session: Session,
        claim_key: str,
        row_ids: Sequence[int],
        due: datetime | None,
        *,
        error: str | None = None,
        undo_attempt: bool = False,
    ) -> int:
        """Held rows go back to waiting, due at `due`. `undo_attempt`: they were not refused
        (a busy domain, a stopped send), so the attempt counted for an in-flight row is taken
        back."""
        values: dict[str, object] = {
            "status": self.waiting,
            "claimed_by": None,
            "lease_expires_at": None,
            "attempted_at": None,
            self.due.key: due,
        }
        if error is not None:
            values["last_error"] = error
        if undo_attempt:
            begun = self.c.attempted_at.is_not(None)
            values["attempts"] = case((begun, self.c.attempts - 1), else_=self.c.attempts)
        return self.update_held(session, claim_key, row_ids, values)

    def defer(
        self,
        session: Session,
        claim_key: str,
        row_ids: Sequence[int],
        error: str,
        *,
        delays: Sequence[int],
        max_age: timedelta | None = None,
        jitter: float = 0.0,
        count_attempt: bool = False,
    ) -> Deferred:
        """A temporary failure: each row is due again after the delay for its attempt count
        (scaled by 1 + jitter), or failed once it used every delay or waited longer than
        `max_age` since it was queued. `count_attempt` counts the failure as an attempt for
        rows never begun (the relay could not be reached at all), so a relay that stays down
        uses up the budget."""
        if not row_ids:
            return Deferred([], [], None)
        now = utcnow()
        held = (self.c.id.in_(row_ids), self.c.claimed_by == claim_key)
        if count_attempt:
            session.execute(
                update(self.table)
                .where(*held, self.c.attempted_at.is_(None))
                .values(attempts=self.c.attempts + 1, attempted_at=now)
            )
        queued_at = self.queued_at if self.queued_at is not None else null()
        rows = session.execute(select(self.c.id, self.c.attempts, queued_at).where(*held)).all()
        failed, retried, earliest = [], [], None
        for row_id, attempts, queued in rows:
            too_old = max_age is not None and queued is not None and now - queued > max_age
            if attempts > len(delays) or too_old:
                failed.append(row_id)
                continue
            retry_at = now + timedelta(seconds=delays[max(attempts - 1, 0)] * (1 + jitter))
            self.give_back(session, claim_key, [row_id], retry_at, error=error)
            retried.append(row_id)
            earliest = retry_at if earliest is None else min(earliest, retry_at)
        spent = f"gave up after {len(delays) + 1} attempts" + (f" or {max_age}" if max_age else "")
        self.finish(session, claim_key, failed, self.failed, last_error=f"{spent}: {error}")
        return Deferred(failed, retried, earliest)

    # --- keeping and losing a hold --------------------------------------------------------
    def renew(self, session: Session, claim_key: str, until: datetime) -> bool:
        """Extend a live sender's hold; False when it holds nothing any more (the tick
        settled it after its lease ran out). Rows the sender is writing at this moment are
        skipped rather than waited for (on PostgreSQL), so the renewal never deadlocks with
        it."""
        held = (self.c.claimed_by == claim_key, self.c.status == self.sending)
        free = select(self.c.id).where(*held).with_for_update(skip_locked=True)
        result = session.execute(
            update(self.table)
            .where(self.c.id.in_(free.scalar_subquery()), *held)
            .values(lease_expires_at=until)
        )
        if rowcount(result):
            return True
        return session.scalar(select(exists().where(*held))) is True

    def recover(
        self, session: Session, now: datetime, claim_key: str | None = None, *extra: str
    ) -> list[tuple[Any, ...]]:
        """Settle the rows whose lease ran out (of one claim, or of every claim): the one in
        flight becomes `unknown` (it may have been delivered), the others wait again, due at
        once. Only expired rows, so a sender that is merely slow is never overtaken.
        Returns (status, id, *extra columns) of each row settled."""
        attempted = self.c.attempted_at.is_not(None)
        which = [self.c.status == self.sending, self.c.lease_expires_at < now]
        if claim_key is not None:
            which.append(self.c.claimed_by == claim_key)
        settled = session.execute(
            update(self.table)
            .where(*which)
            .values(
                status=case((attempted, self.unknown), else_=self.waiting),
                last_error=case((attempted, UNKNOWN_ERROR), else_=self.c.last_error),
                claimed_by=None,
                lease_expires_at=None,
            )
            .returning(self.c.status, self.c.id, *(self.c[name] for name in extra))
        )
        return [tuple(row) for row in settled]

    def update_held(
        self, session: Session, claim_key: str, row_ids: Sequence[int], values: dict[str, object]
    ) -> int:
        """Set `values` on those of `row_ids` that `claim_key` still holds; how many changed."""
        if not row_ids:
            return 0
        result = session.execute(
            update(self.table)
            .where(
                self.c.id.in_(row_ids),
                self.c.claimed_by == claim_key,
                self.c.status == self.sending,
            )
            .values(**values)
        )
        return rowcount(result)


def finish_and_begin_statement(table: Table, sending: str, kept: Sequence[str]) -> Update:
    """UPDATE of at most two held rows: `:done` gets `:status` and, from `kept`, each column
    whose parameter is not NULL, and leaves the hold; `:next` is marked in flight (`:now`,
    one more attempt). Both only while `:key` holds them. Build it once: its compiled form is
    cached, with no ORM in the way."""
    t = table
    done = t.c.id == bindparam("done", type_=Integer())
    going = t.c.id == bindparam("next", type_=Integer())

    def on_done(value: ColumnElement[Any], column: Column[Any]) -> Case[Any]:
        return case((done, value), else_=column)

    def keep(name: str) -> Case[Any]:
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
