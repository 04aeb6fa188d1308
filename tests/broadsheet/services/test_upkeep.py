"""The scheduler's upkeep decided in the domain, on the real database, with no broker: what a
tick starts, settles and hands back to be enqueued."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from broadsheet.models import Campaign, CampaignStatus, Delivery, DeliveryStatus, utcnow
from broadsheet.services import claims
from broadsheet.services.campaigns import start_send
from broadsheet.services.ledger import plan_deliveries
from broadsheet.services.subscriptions import create_subscriber
from broadsheet.services.upkeep import run_upkeep
from tests.support.factories import make_campaign

STALL = timedelta(minutes=2)


def sending(db, readers: int):
    for n in range(readers):
        create_subscriber(db, f"u{n}@example.org", status="active")
    campaign = start_send(db, make_campaign(db).id)
    plan_deliveries(db, campaign)
    return campaign, list(db.scalars(select(Delivery.id).order_by(Delivery.id)))


def test_a_due_campaign_is_handed_back_to_be_planned(db):
    due, later = make_campaign(db, "Due"), make_campaign(db, "Later")
    due.status, due.scheduled_at = CampaignStatus.SCHEDULED, utcnow() - timedelta(seconds=1)
    later.status, later.scheduled_at = CampaignStatus.SCHEDULED, utcnow() + timedelta(hours=1)
    db.flush()
    upkeep = run_upkeep(db, utcnow(), stall_after=STALL, batch_size=10)
    assert upkeep.plan == (due.id,) and upkeep.started == 1 and upkeep.batches == ()
    db.refresh(due), db.refresh(later)
    assert (due.status, later.status) == (CampaignStatus.SENDING, CampaignStatus.SCHEDULED)
    again = run_upkeep(db, utcnow(), stall_after=STALL, batch_size=10)
    assert again.plan == () and again.started == 0, "started once"


def test_a_dead_claim_is_settled_and_its_unsent_rows_handed_back(db):
    campaign, ids = sending(db, 4)
    lease = timedelta(seconds=30)
    claims.claim(db, campaign.id, ids[0], ids[-1], "dead-task", lease)  # in flight: ids[0]
    later = utcnow() + timedelta(minutes=1)  # the lease has run out by then
    upkeep = run_upkeep(db, later, stall_after=STALL, batch_size=10)
    assert (upkeep.unknown, upkeep.requeued) == (1, 3)
    assert upkeep.batches == ((campaign.id, ids[1], ids[-1]),), "sent at once, not at stall"
    db.expire_all()
    status = {d.id: d.status for d in db.scalars(select(Delivery))}
    assert status[ids[0]] == DeliveryStatus.UNKNOWN
    assert {status[i] for i in ids[1:]} == {DeliveryStatus.QUEUED}


def test_a_stalled_campaign_gets_batches_for_its_due_rows(db):
    campaign, ids = sending(db, 5)
    campaign.planned_at = utcnow() - timedelta(minutes=10)
    db.flush()
    quiet = run_upkeep(db, utcnow(), stall_after=timedelta(hours=1), batch_size=2)
    assert quiet.batches == () and quiet.stalled == 0, "not stalled for that long yet"
    upkeep = run_upkeep(db, utcnow(), stall_after=STALL, batch_size=2)
    assert upkeep.stalled == 1
    assert upkeep.batches == (
        (campaign.id, ids[0], ids[1]),
        (campaign.id, ids[2], ids[3]),
        (campaign.id, ids[4], ids[4]),
    )


def test_a_campaign_is_progressing_while_its_newest_sent_row_is_recent(db):
    campaign, ids = sending(db, 5)
    campaign.planned_at = utcnow() - timedelta(minutes=10)
    sent = db.get(Delivery, ids[1])
    sent.status, sent.sent_at = DeliveryStatus.SENT, utcnow() - timedelta(seconds=30)
    db.flush()
    calm = run_upkeep(db, utcnow(), stall_after=STALL, batch_size=2)
    assert (calm.stalled, calm.batches) == (0, ())
    sent.sent_at = utcnow() - timedelta(minutes=5)  # nothing since: stalled
    db.flush()
    upkeep = run_upkeep(db, utcnow(), stall_after=STALL, batch_size=2)
    assert upkeep.stalled == 1
    assert upkeep.batches == ((campaign.id, ids[0], ids[2]), (campaign.id, ids[3], ids[4]))


def test_a_campaign_whose_last_rows_were_settled_is_finished(db):
    campaign, ids = sending(db, 1)
    claims.claim(db, campaign.id, ids[0], ids[0], "dead-task", timedelta(seconds=1))
    upkeep = run_upkeep(db, utcnow() + timedelta(minutes=1), stall_after=STALL, batch_size=10)
    assert (upkeep.unknown, upkeep.finished, upkeep.batches) == (1, 1, ())
    assert db.scalar(select(Campaign.status).where(Campaign.id == campaign.id)) == "sent"


def test_when_the_broker_lost_its_tasks_every_send_gets_batches_at_once(db):
    campaign, ids = sending(db, 5)
    claims.claim(db, campaign.id, ids[0], ids[1], "live-task", timedelta(seconds=30))
    unplanned = start_send(db, make_campaign(db, "Not yet planned").id)
    # Just planned, and a live claim is sending: no stall as far as the ledger can tell.
    calm = run_upkeep(db, utcnow(), stall_after=STALL, batch_size=2)
    assert (calm.batches, calm.plan) == ((), ())
    lost = run_upkeep(db, utcnow(), stall_after=STALL, batch_size=2, tasks_lost=True)
    assert lost.batches == ((campaign.id, ids[2], ids[3]), (campaign.id, ids[4], ids[4]))
    assert lost.plan == (unplanned.id,)
    assert (lost.unknown, lost.requeued) == (0, 0), "the live claim is left alone"


def test_rows_still_queued_after_their_retry_time_are_sent_again_without_waiting_for_a_stall(db):
    """A row deferred after a 451 whose retrying task is gone (its worker killed, Redis
    restarted) gets a batch once its retry time is `overdue_after` past: not at STALL_AFTER,
    while other rows of the campaign are still being sent (it is progressing)."""
    campaign, ids = sending(db, 6)
    claims.claim(db, campaign.id, ids[0], ids[-1], "task", timedelta(seconds=30))
    claims.release(db, "task", [ids[1], ids[4]], "451 try later", utcnow() + timedelta(seconds=5))
    claims.release(db, "task", [ids[2]], "451 try later", utcnow() + timedelta(minutes=5))
    claims.finish(db, "task", [ids[0]], DeliveryStatus.SENT)  # progress: no stall
    grace = timedelta(seconds=10)
    soon = run_upkeep(db, utcnow(), stall_after=STALL, batch_size=2, overdue_after=grace)
    assert (soon.overdue, soon.batches) == (0, ()), "not yet due: the task may still be alive"
    later = utcnow() + timedelta(seconds=20)  # 15 s past the retry time of ids[1] and ids[4]
    upkeep = run_upkeep(db, later, stall_after=STALL, batch_size=2, overdue_after=grace)
    assert upkeep.overdue == 2 and upkeep.stalled == 0
    assert upkeep.batches == ((campaign.id, ids[1], ids[1]), (campaign.id, ids[4], ids[4]))
    again = run_upkeep(db, later, stall_after=STALL, batch_size=2, overdue_after=grace)
    assert (again.overdue, again.batches) == (0, ()), "handed back once, not at every tick"
    rows = {d.id: d for d in db.scalars(select(Delivery).execution_options(populate_existing=True))}
    assert rows[ids[1]].next_attempt_at is None and rows[ids[2]].next_attempt_at is not None
    held = claims.claim(db, campaign.id, ids[1], ids[1], "rescue", timedelta(seconds=30))
    assert [c.delivery_id for c in held] == [ids[1]], "the batch handed back can claim it"


def test_overdue_rows_of_a_paused_campaign_wait_for_its_resume(db):
    campaign, ids = sending(db, 2)
    claims.claim(db, campaign.id, ids[0], ids[-1], "task", timedelta(seconds=30))
    claims.release(db, "task", ids, "451 try later", utcnow() - timedelta(minutes=1))
    campaign.status = CampaignStatus.PAUSED
    db.flush()
    upkeep = run_upkeep(db, utcnow(), stall_after=STALL, batch_size=2)
    assert (upkeep.overdue, upkeep.batches) == (0, ())
