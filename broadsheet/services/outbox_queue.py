"""The outbox queue: mail owed to a reader (or, a campaign's report, to an admin: see
admin_reports.py), held by a sweep while it is sent, exactly once.

A signup writes its reader and its confirmation in one transaction (`queue_confirmation`) and
returns; a sweep (worker/sweep.py) claims due rows, sends them over one SMTP connection and
records each outcome in the statement that marks the next row in flight, as the campaign
ledger does (broadsheet/services/claims.py). So a sweep that dies leaves at most one row
whose fate is unknown (`unknown`, never sent again), and every other row it held goes back
to `pending` once its lease runs out (`recover`, from the tick).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningInsert

from broadsheet.db import dialect_insert
from broadsheet.mail.campaign_report import CampaignFigures
from broadsheet.models import (
    Membership,
    MembershipStatus,
    Newsletter,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    Role,
    Subscriber,
    SubscriberStatus,
    User,
    utcnow,
)
from broadsheet.services import admin_reports, erasure, holds

NOT_OWED = "not sent: the reader is no longer waiting for it (confirmed, left or bounced)"
NOT_ADMIN = "not sent: the account is no longer an active admin"

# The hold verbs over the outbox (broadsheet/services/holds.py), which the ledger shares.
OUTBOX = holds.Holds(
    OutboxMessage.__table__,
    OutboxStatus,
    waiting=OutboxStatus.PENDING,
    due="due_at",
    kept=("last_error", "relay_reply", "sent_at"),
)


@dataclass(frozen=True)
class Report:
    """What an admin's report needs: their address, the campaign's figures, and when the
    campaign was sent or paused (the report was owed in that transaction)."""

    email: str
    figures: CampaignFigures
    as_of: datetime


@dataclass(frozen=True)
class Held:
    """One outbox row a sweep now holds, with the reader it is for, or the admin's report."""

    row_id: int
    kind: OutboxKind
    reader: Subscriber | None
    report: Report | None = None
    # A welcome's newsletters: those the reader gets that send one, by name.
    newsletters: tuple[str, ...] = ()
    # A data export's content (erasure.export), read when the row is claimed.
    export: dict[str, Any] | None = None

    @property
    def subscriber(self) -> Subscriber:
        """The reader of a reader's mail (a confirmation); never asked of an admin's report."""
        assert self.reader is not None, f"outbox row {self.row_id} is not for a reader"
        return self.reader

    @property
    def address(self) -> str:
        if self.reader is not None:
            return self.reader.email
        assert self.report is not None, "a row is for a reader or an admin"
        return self.report.email


@dataclass(frozen=True)
class Recovered:
    unknown: int
    requeued: int


def queue_confirmation(session: Session, subscriber_id: int) -> bool:
    """Owe the reader a confirmation mail, in the caller's transaction; False when one is
    already waiting for them (a second signup before the first mail left owes nothing)."""
    return _queue(session, subscriber_id, OutboxKind.CONFIRMATION)


def queue_confirmations(session: Session, subscriber_ids: Sequence[int]) -> None:
    """Owe each of these readers (pending, just imported) a confirmation: one statement for a
    batch; a reader already owed one keeps that one."""
    if not subscriber_ids:
        return
    now = utcnow()
    rows = [_owed(subscriber_id, OutboxKind.CONFIRMATION, now) for subscriber_id in subscriber_ids]
    session.connection().execute(_queue_many(session.get_bind().dialect.name), rows)


@functools.cache
def _queue_many(dialect: str) -> Any:
    return dialect_insert(dialect, OutboxMessage.__table__).on_conflict_do_nothing()


def queue_welcome(session: Session, subscriber_id: int) -> bool:
    """Owe a reader who just confirmed their welcome, once ever, when a newsletter they get
    sends one; False when nothing is owed (none does, or it was owed before)."""
    if not _welcome_newsletters(session, [subscriber_id]).get(subscriber_id):
        return False
    before = session.scalar(
        select(OutboxMessage.id).where(
            OutboxMessage.subscriber_id == subscriber_id, OutboxMessage.kind == OutboxKind.WELCOME
        )
    )
    return before is None and _queue(session, subscriber_id, OutboxKind.WELCOME)


def queue_data_export(session: Session, subscriber_id: int) -> bool:
    """Owe a reader the data kept about them (erasure.export), mailed as a JSON attachment to
    their own address and nowhere else; False when one is owed already. How often a reader
    may ask is the caller's to limit."""
    return _queue(session, subscriber_id, OutboxKind.DATA_EXPORT)


def _welcome_newsletters(session: Session, reader_ids: list[int]) -> dict[int, tuple[str, ...]]:
    """By reader, the newsletters they are subscribed to that send a welcome, by name."""
    rows = session.execute(
        select(Membership.subscriber_id, Newsletter.name)
        .join(Newsletter, Newsletter.id == Membership.newsletter_id)
        .where(
            Membership.subscriber_id.in_(reader_ids),
            Membership.status == MembershipStatus.SUBSCRIBED,
            Newsletter.welcome.is_(True),
        )
        .order_by(Newsletter.name)
    )
    found: dict[int, tuple[str, ...]] = {}
    for reader_id, name in rows:
        found[reader_id] = (*found.get(reader_id, ()), name)
    return found


def _queue(session: Session, subscriber_id: int, kind: OutboxKind) -> bool:
    params = _owed(subscriber_id, kind, utcnow())
    statement = _queue_statement(session.get_bind().dialect.name)
    return session.connection().execute(statement, params).scalar_one_or_none() is not None


def _owed(subscriber_id: int, kind: OutboxKind, now: datetime) -> dict[str, Any]:
    """An outbox row owed to a reader from now on."""
    return {"kind": kind, "subscriber_id": subscriber_id, "status": OutboxStatus.PENDING,
            "created_at": now, "due_at": now, "attempts": 0}  # fmt: skip


@functools.cache
def _queue_statement(dialect: str) -> ReturningInsert[Any]:
    """Built once per dialect: the signup's transaction is short, so is the statement's cost."""
    table = OutboxMessage.__table__
    # DO NOTHING on the partial unique index of waiting rows (one per reader and kind).
    return dialect_insert(dialect, table).on_conflict_do_nothing().returning(table.c.id)


def claim(session: Session, claim_key: str, lease: timedelta, limit: int) -> list[Held]:
    """Take up to `limit` due, pending rows, oldest first; rows another sweep holds are
    skipped (SKIP LOCKED on PostgreSQL; SQLite serialises writers). A confirmation no longer
    owed (the reader confirmed, left or bounced since) is failed, not sent, and so is a
    welcome to a reader no longer active or in a newsletter that sends one, and a report to
    an account no longer an active admin; a report carries its campaign's figures
    as of now. None is in flight yet: the sweep begins each row itself (`finish_and_begin`)."""
    now = utcnow()
    due = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.due_at <= now)
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(due.scalar_subquery()))
        .values(
            status=OutboxStatus.SENDING,
            claimed_by=claim_key,
            lease_expires_at=now + lease,
            attempted_at=None,
        )
        .returning(
            OutboxMessage.id,
            OutboxMessage.kind,
            OutboxMessage.subscriber_id,
            OutboxMessage.user_id,
            OutboxMessage.campaign_id,
            OutboxMessage.created_at,
        )
        .execution_options(synchronize_session=False)
    ).all()
    if not rows:
        return []
    readers = {
        s.id: s
        for s in session.scalars(
            select(Subscriber).where(Subscriber.id.in_({r.subscriber_id for r in rows}))
        )
    }
    admins = _admin_addresses(session, {r.user_id for r in rows if r.user_id is not None})
    figures = admin_reports.figures(
        session, sorted({r.campaign_id for r in rows if r.campaign_id is not None})
    )
    welcomes = _welcome_newsletters(
        session, [r.subscriber_id for r in rows if r.kind == OutboxKind.WELCOME]
    )
    held, not_owed, not_admin = [], [], []
    for row in sorted(rows):
        if row.subscriber_id is not None:  # a reader's mail: a confirmation, or a welcome
            reader = readers.get(row.subscriber_id)
            if row.kind == OutboxKind.DATA_EXPORT:  # owed to whoever asked, whatever they get
                if reader is None:
                    not_owed.append(row.id)
                else:
                    export = erasure.export(session, reader.id)
                    held.append(Held(row.id, row.kind, reader, export=export))
                continue
            welcome = row.kind == OutboxKind.WELCOME
            owed = SubscriberStatus.ACTIVE if welcome else SubscriberStatus.PENDING
            names = welcomes.get(row.subscriber_id, ()) if welcome else ()
            if reader is not None and reader.status == owed and (names or not welcome):
                held.append(Held(row.id, row.kind, reader, newsletters=names))
            else:
                not_owed.append(row.id)
        elif row.user_id in admins and row.campaign_id in figures:  # an admin's report
            report = Report(admins[row.user_id], figures[row.campaign_id], row.created_at)
            held.append(Held(row.id, row.kind, None, report))
        else:
            not_admin.append(row.id)
    finish(session, claim_key, not_owed, OutboxStatus.FAILED, error=NOT_OWED)
    finish(session, claim_key, not_admin, OutboxStatus.FAILED, error=NOT_ADMIN)
    return held


def _admin_addresses(session: Session, user_ids: set[int]) -> dict[int, str]:
    """The addresses of those of these accounts that are still active admins."""
    if not user_ids:
        return {}
    rows = session.execute(
        select(User.id, User.email).where(
            User.id.in_(user_ids), User.role == Role.ADMIN, User.active.is_(True)
        )
    )
    return {user_id: email for user_id, email in rows}


def finish_and_begin(
    db: Session | Connection,
    claim_key: str,
    done: Held | None,
    status: OutboxStatus | None,
    next_id: int | None,
    *,
    error: str | None = None,
    reply: str | None = None,
) -> bool:
    """In the caller's transaction: record `done`'s final `status` and mark row `next_id` in
    flight, one statement; a sent confirmation is stamped on its reader too. False when
    `next_id` is no longer this sweep's (its lease ran out and the tick settled it). On a
    Connection (the sweep's hot path) no ORM is involved."""
    if done is None and next_id is None:
        return True
    now = utcnow()
    params = {
        "key": claim_key,
        "done": None if done is None else done.row_id,
        "next": next_id,
        "status": status,
        "last_error": error,
        "relay_reply": reply,
        "sent_at": now if status == OutboxStatus.SENT else None,
        "now": now,
    }
    changed = OUTBOX.finish_and_begin(db, params)
    if done is not None and status == OutboxStatus.SENT and done.row_id in changed:
        _stamp_sent(db, done, now)
    return next_id is None or next_id in changed


def _stamp_sent(db: Session | Connection, done: Held, when: datetime) -> None:
    """What the reader's row says about mail sent to them (when a resend is owed)."""
    if done.kind == OutboxKind.CONFIRMATION and done.reader is not None:
        db.execute(_STAMP_CONFIRMATION, {"reader": done.subscriber.id, "when": when})


_STAMP_CONFIRMATION = (
    update(Subscriber.__table__)
    .where(Subscriber.__table__.c.id == bindparam("reader"))
    .values(confirmation_sent_at=bindparam("when"))
)


def finish(
    session: Session,
    claim_key: str,
    row_ids: Sequence[int],
    status: OutboxStatus,
    *,
    error: str | None = None,
    reply: str | None = None,
) -> int:
    """A final outcome for held rows (not sent: refused, or no longer owed)."""
    return OUTBOX.finish(session, claim_key, row_ids, status, last_error=error, relay_reply=reply)


def defer(
    session: Session,
    claim_key: str,
    row_ids: Sequence[int],
    error: str,
    delays: Sequence[int],
    *,
    count_attempt: bool = True,
) -> holds.Deferred:
    """A temporary failure: each row is due again after the delay for its attempt count, or
    failed once it has used every delay (`retry_at`: when the first retried row falls due).
    `count_attempt`: a row never begun (the relay could not be reached) counts the failure
    as an attempt too."""
    return OUTBOX.defer(
        session, claim_key, row_ids, error, delays=delays, count_attempt=count_attempt
    )


def postpone(session: Session, claim_key: str, row_ids: Sequence[int], until: datetime) -> int:
    """Give held rows back unsent until `until` (their domain is at its rate), not counting
    it as an attempt; also how a stopping sweep gives back what it did not reach."""
    return OUTBOX.give_back(session, claim_key, row_ids, until, undo_attempt=True)


def renew(session: Session, claim_key: str, until: datetime) -> bool:
    """Extend a live sweep's hold on its rows; False when it holds none any more."""
    return OUTBOX.renew(session, claim_key, until)


def recover(session: Session, now: datetime | None = None) -> Recovered:
    """Settle the rows of sweeps whose lease ran out: the one in flight becomes `unknown`
    (it may have been delivered), the others are pending again, due at once."""
    settled = OUTBOX.recover(session, now or utcnow())
    unknown = sum(1 for status, _ in settled if status == OutboxStatus.UNKNOWN)
    return Recovered(unknown, len(settled) - unknown)


def next_due(session: Session) -> datetime | None:
    """When the earliest pending row falls due (None: nothing is pending)."""
    return session.scalar(
        select(func.min(OutboxMessage.due_at)).where(OutboxMessage.status == OutboxStatus.PENDING)
    )
