"""Claims on delivery rows, on the real database: what a worker holds, and how a dead
worker's rows are settled (the in-flight one `unknown`, the rest back in the queue)."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from broadsheet.models import Campaign, Delivery, DeliveryStatus, utcnow
from broadsheet.services import claims
from broadsheet.services.campaigns import (
    pause,
    pause_if_failing,
    resume,
    retry_failed,
)
from broadsheet.services.ledger import batch_ranges, complete_if_done
from broadsheet.services.subscriptions import unsubscribe
from tests.support.factories import planned_campaign

LEASE = timedelta(minutes=5)
LATER = utcnow() + timedelta(hours=1)  # "now" once every lease taken in a test has run out


def statuses(db) -> dict[int, str]:
    db.expire_all()
    return {d.id: d.status.value for d in db.scalars(select(Delivery))}


def test_claim_takes_queued_rows_once_and_marks_the_first_in_flight(db):
    campaign_id, ids = planned_campaign(db)
    held = claims.claim(db, campaign_id, ids[0], ids[-1], "task-a", LEASE)
    assert [h.delivery_id for h in held] == ids
    assert claims.claim(db, campaign_id, ids[0], ids[-1], "task-b", LEASE) == []
    rows = {d.id: d for d in db.scalars(select(Delivery))}
    assert [rows[i].attempted_at is not None for i in ids] == [True, False, False, False, False]
    assert rows[ids[0]].attempts == 1 and rows[ids[1]].attempts == 0


def test_recover_marks_only_the_in_flight_row_unknown(db):
    campaign_id, ids = planned_campaign(db)
    claims.claim(db, campaign_id, ids[0], ids[-1], "task-a", LEASE)
    claims.finish(db, "task-a", [ids[0]], DeliveryStatus.SENT, reply="250 ok")
    claims.begin(db, "task-a", ids[1])  # the worker dies while sending the second row
    assert claims.recover(db, "task-a") == claims.Recovered(0, 0), "its lease still runs"
    recovered = claims.recover(db, "task-a", LATER)
    assert (recovered.unknown, recovered.requeued) == (1, 3)
    assert statuses(db) == {
        ids[0]: "sent", ids[1]: "unknown", ids[2]: "queued", ids[3]: "queued", ids[4]: "queued",
    }  # fmt: skip


def test_a_stale_claim_cannot_overwrite_rows_now_held_by_another(db):
    campaign_id, ids = planned_campaign(db, 2)
    claims.claim(db, campaign_id, ids[0], ids[1], "old", LEASE)
    claims.recover(db, "old", LATER)  # its lease ran out: the worker was slow, not dead
    assert [h.delivery_id for h in claims.claim(db, campaign_id, ids[0], ids[1], "new", LEASE)] == [
        ids[1]
    ]
    assert claims.finish(db, "old", ids, DeliveryStatus.SENT, reply="250 late") == 0
    assert not claims.begin(db, "old", ids[1]), "the slow worker learns it must stop"
    assert claims.renew(db, "old", LATER) is False
    assert statuses(db) == {ids[0]: "unknown", ids[1]: "sending"}


def test_deferred_rows_wait_for_their_retry_time_then_give_up(db):
    campaign_id, ids = planned_campaign(db, 1)
    claims.claim(db, campaign_id, ids[0], ids[0], "t1", LEASE)
    deferred = claims.defer(db, "t1", ids, "451 later", delays=[60, 60], max_age=LEASE)
    assert deferred.retried == ids
    assert deferred.retry_at is not None and deferred.retry_at > utcnow() + timedelta(seconds=50)
    assert claims.claim(db, campaign_id, ids[0], ids[0], "t2", LEASE) == [], "not due yet"
    db.get(Delivery, ids[0]).next_attempt_at = utcnow() - timedelta(seconds=1)
    for key in ("t3", "t4"):
        assert claims.claim(db, campaign_id, ids[0], ids[0], key, LEASE)
        deferred = claims.defer(db, key, ids, "451 later", delays=[60, 60], max_age=LEASE)
        db.get(Delivery, ids[0]).next_attempt_at = utcnow() - timedelta(seconds=1)
    assert deferred.failed == ids, "a third attempt with two delays is the last"
    row = db.get(Delivery, ids[0])
    db.refresh(row)
    assert row.status == DeliveryStatus.FAILED and "gave up" in row.last_error


def test_retry_failed_gives_rows_a_fresh_retry_budget(db):
    campaign_id, ids = planned_campaign(db, 1)
    day, long_ago = timedelta(days=1), utcnow() - timedelta(days=2)
    row = db.get(Delivery, ids[0])
    row.created_at = row.queued_at = long_ago  # planned two days ago
    db.flush()
    claims.claim(db, campaign_id, ids[0], ids[0], "t1", LEASE)
    assert claims.defer(db, "t1", ids, "451 later", delays=[60], max_age=day).failed == ids
    assert retry_failed(db, campaign_id) == 1
    # Long after planning, the retried row is still retried at its first temporary error...
    claims.claim(db, campaign_id, ids[0], ids[0], "t2", LEASE)
    assert claims.defer(db, "t2", ids, "451 later", delays=[60], max_age=day).retried == ids
    db.refresh(row)
    assert (row.status, row.attempts, row.created_at) == ("queued", 1, long_ago)
    assert row.queued_at > long_ago + day
    # ...and its fresh budget runs out like any other.
    row.next_attempt_at = None
    claims.claim(db, campaign_id, ids[0], ids[0], "t3", LEASE)
    assert claims.defer(db, "t3", ids, "451 later", delays=[60], max_age=day).failed == ids


def test_batch_ranges_cover_the_queued_rows_in_groups_of_the_batch_size(db):
    campaign_id, ids = planned_campaign(db, 7)
    db.get(Delivery, ids[1]).status = DeliveryStatus.SENT  # only queued rows are covered
    db.flush()
    left = [i for i in ids if i != ids[1]]
    assert list(batch_ranges(db, campaign_id, 3)) == [
        (left[0], left[2]), (left[3], left[5]),
    ]  # fmt: skip
    assert list(batch_ranges(db, campaign_id, 100)) == [(left[0], left[-1])]


def test_a_row_that_fell_due_after_the_claim_still_brings_its_batch_back(db):
    """Deferred with a jitter of its own, a row can fall due between the claim and the
    batch's question of when to run again: the answer must not skip it."""
    campaign_id, ids = planned_campaign(db, 2)
    claims.claim(db, campaign_id, ids[0], ids[-1], "task-a", LEASE)
    claims.release(db, "task-a", ids, "450 greylisted", utcnow() - timedelta(milliseconds=5))
    due = claims.next_due(db, campaign_id, ids[0], ids[-1])
    assert due is not None and due <= utcnow()


def test_resume_restarts_the_age_of_rows_still_queued(db):
    campaign_id, ids = planned_campaign(db, 2)
    day, long_ago = timedelta(days=1), utcnow() - timedelta(days=2)
    for delivery_id in ids:
        db.get(Delivery, delivery_id).queued_at = long_ago
    db.flush()
    pause(db, campaign_id)
    resume(db, campaign_id)
    claims.claim(db, campaign_id, ids[0], ids[-1], "t1", LEASE)
    assert sorted(claims.defer(db, "t1", ids, "451 later", delays=[60], max_age=day).retried) == ids


def test_readers_who_left_are_failed_as_suppressed_not_held(db):
    campaign_id, ids = planned_campaign(db, 2)
    leaver = db.scalars(select(Delivery.subscriber_id).where(Delivery.id == ids[1])).one()
    unsubscribe(db, leaver)
    held = claims.claim(db, campaign_id, ids[0], ids[-1], "t", LEASE)
    assert [h.delivery_id for h in held] == [ids[0]]
    assert statuses(db)[ids[1]] == "failed"


def test_readers_who_left_do_not_count_towards_the_auto_pause(db):
    campaign_id, ids = planned_campaign(db, 40)
    leavers = db.scalars(select(Delivery.subscriber_id).where(Delivery.id.in_(ids[:20]))).all()
    for subscriber_id in leavers:
        unsubscribe(db, subscriber_id)
    held = claims.claim(db, campaign_id, ids[0], ids[-1], "t", LEASE)
    assert len(held) == 20 and statuses(db)[ids[0]] == "failed"
    sent, refused = [h.delivery_id for h in held[1:]], [held[0].delivery_id]
    claims.finish(db, "t", sent, DeliveryStatus.SENT, reply="250 ok")
    claims.finish(db, "t", refused, DeliveryStatus.FAILED, reply="550 5.7.1 no")
    # 21 of 40 failed, but 20 of them left before their turn: 1 failure in 20 tries.
    assert pause_if_failing(db, campaign_id, rate=0.05, after=20) is None
    assert pause_if_failing(db, campaign_id, rate=0.04, after=20) == (
        "paused automatically: 1 of 20 deliveries failed (limit 4%)"
    )


def test_expired_claims_are_found(db):
    campaign_id, ids = planned_campaign(db, 2)
    claims.claim(db, campaign_id, ids[0], ids[-1], "gone", timedelta(seconds=-1))
    claims.claim(db, campaign_id, ids[0], ids[-1], "alive", LEASE)
    assert claims.expired_claims(db) == ["gone"]


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"),
    reason="SKIP LOCKED is PostgreSQL's; SQLite serialises writers with BEGIN IMMEDIATE",
)
def test_concurrent_claims_skip_rows_another_transaction_holds(engine, committed):
    campaign_id, ids = planned_campaign(committed, 4)
    committed.commit()
    first, second = Session(engine), Session(engine)
    try:
        second.execute(text("SET lock_timeout = '2s'"))  # blocking would fail, not hang
        mid = ids[1]
        held_a = claims.claim(first, campaign_id, ids[0], mid, "a", LEASE)  # not committed
        held_b = claims.claim(second, campaign_id, ids[0], ids[-1], "b", LEASE)
        assert [h.delivery_id for h in held_a] == ids[:2]
        assert [h.delivery_id for h in held_b] == ids[2:], "locked rows are skipped, not waited on"
        first.commit()
        second.commit()
    finally:
        first.close()
        second.close()


def test_a_campaign_whose_last_rows_were_settled_by_recovery_completes(db):
    campaign_id, ids = planned_campaign(db, 1)
    claims.claim(db, campaign_id, ids[0], ids[0], "dead", LEASE)
    assert claims.recover(db, "dead", LATER).unknown == 1  # no row left to send, so no batch runs
    assert complete_if_done(db) == 1, "the tick must finish it"
    campaign = db.get(Campaign, campaign_id)
    db.refresh(campaign)
    assert campaign.status == "sent" and campaign.finished_at is not None
