"""The delivery ledger: plan one row per reader, cut the queue into batches, finish campaigns.

How workers hold and settle rows is in `broadsheet.services.claims`.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, and_, exists, func, literal, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from broadsheet.db import dialect_insert, rowcount
from broadsheet.models import (
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    OutboxKind,
    Subscriber,
    SubscriberStatus,
    utcnow,
)
from broadsheet.models.delivery import WAITING
from broadsheet.services import admin_reports, progress
from broadsheet.services.audience_freeze import freeze
from broadsheet.services.audiences import readers_condition

# Planning on PostgreSQL runs this many INSERT ... SELECTs at once, each over its own range
# of reader ids on its own connection: each row's key check and index entries cost CPU on
# the server, and one statement uses one core. SQLite has one writer at a time: one part.
PLAN_PARTS_POSTGRESQL = 2


def plan_deliveries(
    session: Session, campaign: Campaign, readers: tuple[int, int] | None = None
) -> int:
    """Create a queued delivery for every reader in the campaign's audience (every active
    reader, or those in its newsletters: `audiences.readers_condition`) without one: one
    INSERT ... SELECT,
    over the readers with ids in `readers` (inclusive) when given, and then the campaign is
    not marked planned (`plan_in_parts` does that once every part is in).

    Idempotent by the ledger's unique key, so a re-run after a crash adds only what is
    missing. The statement skips a reader who has a row with ON CONFLICT DO NOTHING, not an
    anti-join: with no statistics on fresh readers (a new install, an import, a burst of
    signups) PostgreSQL ran `NOT EXISTS` as a nested loop over the campaign's rows, which
    each inserted row lengthened (quadratic). Readers who confirm later are not added: the
    audience is frozen when planning completes (`planned_at`), and a segment's rules before
    it starts (`audience_freeze.freeze`: a no-op once the start task has frozen them).
    """
    freeze(session, campaign)
    now = utcnow()
    chosen = select(
        literal(campaign.id),
        Subscriber.id,
        literal(DeliveryStatus.QUEUED.value),
        literal(0),
        literal(now, type_=Delivery.created_at.type),
        literal(now, type_=Delivery.queued_at.type),
    ).where(readers_condition(campaign.audience, campaign.audience_rules))
    if readers is not None:
        chosen = chosen.where(Subscriber.id.between(*readers))
    columns = ["campaign_id", "subscriber_id", "status", "attempts", "created_at", "queued_at"]
    dialect = session.get_bind().dialect.name
    statement = dialect_insert(dialect, Delivery.__table__).from_select(columns, chosen)
    result = session.execute(
        statement.on_conflict_do_nothing(
            index_elements=["campaign_id", "subscriber_id"]
        ).execution_options(preserve_rowcount=True)
    )
    planned = rowcount(result)
    if readers is None:
        campaign.planned_at = now
        session.flush()
    return planned


def plan_in_parts(sessions: sessionmaker[Session], campaign_id: int, parts: int) -> int:
    """Plan the campaign in `parts` ranges of reader ids at once, each in a transaction of
    its own (threads, each with a connection), then mark it planned; how many rows were
    added. A part that fails leaves the campaign unplanned, and the re-run (the tick's)
    adds only the rows still missing."""
    with sessions.begin() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        freeze(session, campaign)  # every part plans the same rules
        ranges = _reader_ranges(session, parts)

    def plan_part(readers: tuple[int, int]) -> int:
        with sessions.begin() as session:
            campaign = session.get(Campaign, campaign_id)
            assert campaign is not None
            return plan_deliveries(session, campaign, readers)

    with ThreadPoolExecutor(max_workers=max(1, len(ranges))) as pool:
        planned = sum(pool.map(plan_part, ranges))
    with sessions.begin() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        campaign.planned_at = utcnow()
    return planned


def _reader_ranges(session: Session, parts: int) -> list[tuple[int, int]]:
    """`parts` ranges of equal width covering the active readers' ids (none when there are
    no active readers): ids are handed out in order, so equal widths hold about as many."""
    bounds: tuple[int | None, int | None] = session.execute(
        select(func.min(Subscriber.id), func.max(Subscriber.id)).where(
            Subscriber.status == SubscriberStatus.ACTIVE
        )
    ).one()  # NULL, NULL when no reader is active
    low, high = bounds
    if low is None or high is None:
        return []
    width = -(-(high - low + 1) // parts)  # ceiling division
    return [(start, min(start + width - 1, high)) for start in range(low, high + 1, width)]


def batch_ranges(session: Session, campaign_id: int, size: int) -> Iterator[tuple[int, int]]:
    """Id ranges covering the queued deliveries, `size` rows each, in id order: one pass that
    numbers the rows (a window function) and keeps each group's first and last id. It does
    not depend on the table's statistics, which are stale right after a large planning."""
    queued = and_(Delivery.campaign_id == campaign_id, Delivery.status == DeliveryStatus.QUEUED)
    position = func.row_number().over(order_by=Delivery.id) - 1
    # Integer division on both databases (an untyped parameter would make it numeric on
    # PostgreSQL, and every row a batch of its own).
    batch = position.self_group().op("/")(literal(size, Integer()))
    numbered = select(Delivery.id, batch.label("batch")).where(queued).subquery()
    groups = (
        select(func.min(numbered.c.id), func.max(numbered.c.id))
        .group_by(numbered.c.batch)
        .order_by(numbered.c.batch)
    )
    yield from ((first, last) for first, last in session.execute(groups))


@dataclass(frozen=True)
class Rescued:
    rows: int
    ranges: tuple[tuple[int, int, int], ...]  # (campaign, first id, last id) to send


def rescue_overdue(session: Session, before: datetime, size: int) -> Rescued:
    """Rows of sending campaigns whose retry time passed before `before` and that are still
    queued: the task that was to send them then is gone (its worker killed, Redis restarted,
    a failed enqueue) or far behind. They become due now (their retry time is cleared, so a
    later call does not pick them again) and are returned as (campaign, first id, last id)
    ranges spanning at most `size` ids each, for batches to send them; a batch of a task that
    is alive after all finds them taken, or takes them first: either way, once each.

    Reads only the rows waiting for a retry time (a partial index), never a campaign's
    queue, so it costs the same at any campaign size and without statistics."""
    sending = select(Campaign.id).where(Campaign.status == CampaignStatus.SENDING)
    rescued = session.execute(
        update(Delivery)
        .where(WAITING, Delivery.next_attempt_at < before, Delivery.campaign_id.in_(sending))
        .values(next_attempt_at=None)
        .returning(Delivery.campaign_id, Delivery.id)
        .execution_options(synchronize_session=False)
    ).all()
    ranges: list[tuple[int, int, int]] = []
    for campaign_id, delivery_id in sorted(rescued):
        if ranges and ranges[-1][0] == campaign_id and delivery_id - ranges[-1][1] < size:
            ranges[-1] = (campaign_id, ranges[-1][1], delivery_id)
        else:
            ranges.append((campaign_id, delivery_id, delivery_id))
    return Rescued(len(rescued), tuple(ranges))


def complete_if_done(
    session: Session, campaign_id: int | None = None, *, notify_admins: bool = False
) -> int:
    """Mark planned, sending campaigns `sent` once no delivery is queued or held: one
    campaign, or (None) every one, as the tick does after settling a dead worker's rows.
    `notify_admins` (NOTIFY_ADMINS): each admin is owed a report on each, in this same
    transaction, so a campaign is reported sent exactly when it became so."""
    open_rows = exists().where(
        Delivery.campaign_id == Campaign.id,
        Delivery.status.in_((DeliveryStatus.QUEUED, DeliveryStatus.SENDING)),
    )
    which = [] if campaign_id is None else [Campaign.id == campaign_id]
    candidates = [
        *which,
        Campaign.status == CampaignStatus.SENDING,
        Campaign.planned_at.is_not(None),
    ]
    # Lock the candidates, then look for open rows in a second statement: on PostgreSQL that
    # statement sees rows that retry_failed (which locks the campaign too) requeued meanwhile.
    locked = session.scalars(select(Campaign.id).where(*candidates).with_for_update()).all()
    if not locked:
        return 0
    finished = session.scalars(
        update(Campaign)
        .where(Campaign.id.in_(locked), *candidates, ~open_rows)
        .values(status=CampaignStatus.SENT, finished_at=utcnow())
        .returning(Campaign.id)
        .execution_options(synchronize_session=False)
    ).all()
    progress.keep(session, finished)  # the final counts, exact from now on
    if notify_admins:
        admin_reports.queue_reports(session, OutboxKind.CAMPAIGN_SENT, finished)
    return len(finished)


def campaigns_needing_work(
    session: Session, stalled_before: datetime, *, tasks_lost: bool = False
) -> dict[str, list[int]]:
    """Sending campaigns that lost their tasks (a Redis restart, a failed enqueue): planning
    never finished, or rows are due but nothing was sent or held since `stalled_before`.
    `tasks_lost`: the broker is known to have lost every task, so every sending campaign
    with due rows (or not yet planned) needs them again, progressing or not."""
    now = utcnow()
    sending = Campaign.status == CampaignStatus.SENDING
    unplanned_when = [sending, Campaign.planned_at.is_(None)]
    if not tasks_lost:
        unplanned_when.append(Campaign.started_at < stalled_before)
    unplanned = session.scalars(select(Campaign.id).where(*unplanned_when)).all()
    mine = Delivery.campaign_id == Campaign.id
    # Progressing: a row held by a worker, or its newest row in id order (batches go in
    # that order) sent since `stalled_before`. Each is one step down the (campaign, status,
    # id) index. An exists over "sent since, or held" read the campaign's rows one by one
    # (213 ms at 500,000 queued rows, every tick of a large send); a campaign whose last
    # sends were retries of earlier rows may look stalled, and its due rows then get fresh
    # batches, which is harmless (see upkeep.run_upkeep).
    held = exists().where(mine, Delivery.status == DeliveryStatus.SENDING)
    last_sent = (
        select(Delivery.sent_at)
        .where(mine, Delivery.status == DeliveryStatus.SENT)
        .order_by(Delivery.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    # Nothing sent yet: as of its planning (which queued_when below requires to be older).
    progressing = or_(held, func.coalesce(last_sent, Campaign.planned_at) >= stalled_before)
    due = exists().where(
        mine,
        Delivery.status == DeliveryStatus.QUEUED,
        or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
    )
    queued_when = [sending, due, Campaign.planned_at.is_not(None)]
    if not tasks_lost:
        queued_when += [Campaign.planned_at < stalled_before, ~progressing]
    queued = session.scalars(select(Campaign.id).where(*queued_when)).all()
    return {"unplanned": list(unplanned), "queued": list(queued)}
