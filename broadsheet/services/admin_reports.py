"""Reports to admins: an email to each active admin account when a campaign is sent or
pauses itself, owed in the outbox in the transaction that changed the campaign's status.

Owing them there makes the report exactly-once with the status change: if the transaction
rolls back, nothing is owed; if it commits, the outbox's sweep sends each row once
(broadsheet/services/outbox_queue.py). A unique key on (kind, campaign, admin) keeps a
second pass of the code that noticed (a retried task, the tick) from owing a second one.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from sqlalchemy import literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from broadsheet.db import dialect_insert
from broadsheet.mail.campaign_report import CampaignFigures
from broadsheet.models import (
    Campaign,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    Role,
    User,
    utcnow,
)
from broadsheet.services import progress


def queue_reports(session: Session, kind: OutboxKind, campaign_ids: Sequence[int]) -> int:
    """Owe each active admin a report of `kind` on each campaign, in the caller's transaction;
    returns how many were owed now (none for an admin already owed or sent this one)."""
    if not campaign_ids:
        return 0
    now = utcnow()
    admins = (
        select(
            literal(kind.value).label("kind"),
            User.id.label("user_id"),
            Campaign.id.label("campaign_id"),
            literal(OutboxStatus.PENDING.value).label("status"),
            literal(now, OutboxMessage.created_at.type).label("created_at"),
            literal(now, OutboxMessage.due_at.type).label("due_at"),
            literal(0).label("attempts"),
        )
        .select_from(User)
        .join(Campaign, Campaign.id.in_(campaign_ids))  # every admin with every campaign
        .where(User.role == Role.ADMIN, User.active.is_(True))
        .order_by(Campaign.id, User.id)
    )
    statement = _insert(session.get_bind().dialect.name).from_select(
        ["kind", "user_id", "campaign_id", "status", "created_at", "due_at", "attempts"], admins
    )
    result = session.execute(statement.returning(OutboxMessage.__table__.c.id))
    return len(result.all())


@functools.cache
def _insert(dialect: str) -> Insert:
    # DO NOTHING on the unique key (kind, campaign_id, user_id): owed once, ever.
    return dialect_insert(dialect, OutboxMessage.__table__).on_conflict_do_nothing()


def figures(session: Session, campaign_ids: Sequence[int]) -> dict[int, CampaignFigures]:
    """Each campaign's figures for its report: its deliveries counted now (exact, in one
    query for all of them), its subject, start and pause reason."""
    counts = progress.count(session, list(campaign_ids))
    rows = session.execute(
        select(Campaign.id, Campaign.subject, Campaign.started_at, Campaign.pause_reason).where(
            Campaign.id.in_(campaign_ids)
        )
    )
    return {
        cid: CampaignFigures(cid, subject, started_at, reason, counts[cid])
        for cid, subject, started_at, reason in rows
    }
