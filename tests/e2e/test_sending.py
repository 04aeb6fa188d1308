"""Campaign sends through the real worker: the global rate, refusals, and the ledger."""

from __future__ import annotations

import itertools
import time
from dataclasses import replace

import pytest
from sqlalchemy import insert, select

from broadsheet.models import Campaign, Delivery, Subscriber
from broadsheet.services.articles import create_article
from broadsheet.services.campaigns import create_campaign, prepare, start_send
from broadsheet.services.ledger import plan_deliveries
from broadsheet.services.subscriptions import unsubscribe
from tests.support.api import bearer, wait_for_status
from tests.support.factories import add_readers, start_campaign
from worker.tasks import enqueue_batches
from worker.throttle import Throttle


@pytest.mark.timing  # the waits count the milliseconds between calls
def test_throttle_spaces_reservations_across_clients(stack, settings):
    slow = replace(settings, send_rate=10)
    one = Throttle(stack["redis"].client(), slow)
    two = Throttle(stack["redis"].client(), slow)
    waits = [t.reserve().wait for t in (one, two, one, two, one)]
    gaps = [b - a for a, b in itertools.pairwise(waits)]
    assert all(0.095 <= g <= 0.105 for g in gaps), waits
    stack["redis"].client().delete("broadsheet:throttle:global")


@pytest.fixture
def rate_limited_worker(celery_worker):
    celery_worker.restart(SEND_RATE="50", BATCH_SIZE="20")
    yield celery_worker
    celery_worker.restart()


@pytest.mark.timing
def test_send_rate_holds_across_worker_processes(committed, smtp, rate_limited_worker):
    add_readers(committed, 400)
    start_campaign(committed)
    received = smtp.wait_for(400, timeout=60)
    times = sorted(m.at for m in received)
    rate = (len(times) - 1) / (times[-1] - times[0])
    print(f"\n400 readers at SEND_RATE=50: {rate:.1f} messages/s")
    assert 45 <= rate <= 55
    busiest = max(sum(1 for t in times if start <= t < start + 1) for start in times)
    assert busiest <= 50 + 20, f"{busiest} messages in one second"


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "one-by-one"])
def test_refusals_fail_or_bounce_with_the_relay_reply(
    client, committed, smtp, celery_worker, pipelining
):
    smtp.pipelining = pipelining
    headers = bearer(committed)
    add_readers(committed, 8)
    replies = {
        "reader3@example.org": "550 5.1.1 <reader3@example.org>: no such user",
        "reader5@example.org": "550 Requested action not taken: mailbox unavailable",
        "reader6@example.org": "554 5.7.1 rejected for policy reasons",
    }
    smtp.rcpt_rule = replies.get
    campaign_id = start_campaign(committed)
    body = wait_for_status(client, headers, campaign_id, "sent")
    assert (body["counts"]["sent"], body["counts"]["bounced"], body["counts"]["failed"]) == (
        5,
        2,
        1,
    )
    rows = committed.execute(
        select(Subscriber.email, Subscriber.status, Delivery.status, Delivery.relay_reply).join(
            Delivery, Delivery.subscriber_id == Subscriber.id
        )
    ).all()
    outcome = {email: (reader, delivery, reply) for email, reader, delivery, reply in rows}
    for address in ("reader3@example.org", "reader5@example.org"):  # the address is bad
        assert outcome[address] == ("bounced", "bounced", replies[address])
    # A policy refusal is about the sender, not the reader: they stay subscribed.
    assert outcome["reader6@example.org"] == ("active", "failed", replies["reader6@example.org"])
    assert sorted(r for m in smtp.messages for r in m.rcpt_tos) == sorted(
        f"reader{n}@example.org" for n in range(8) if f"reader{n}@example.org" not in replies
    )


def test_reader_who_leaves_after_planning_is_not_mailed(committed, smtp, celery_worker, settings):
    add_readers(committed, 3)
    article = create_article(committed, title="Mid-send", body_markdown="x")
    campaign = start_send(committed, create_campaign(committed, article.id).id)
    prepare(committed, campaign, settings)
    assert plan_deliveries(committed, campaign) == 3
    leaver = committed.scalars(select(Subscriber).where(Subscriber.email_key.startswith("reader1")))
    unsubscribe(committed, leaver.one().id)
    committed.commit()
    enqueue_batches(campaign.id)

    deadline = time.monotonic() + 30
    while committed.scalar(select(Campaign.status).where(Campaign.id == campaign.id)) != "sent":
        committed.rollback()  # end the transaction: on SQLite it holds the write lock
        assert time.monotonic() < deadline, celery_worker.log()
        time.sleep(0.1)
    assert sorted(r for m in smtp.messages for r in m.rcpt_tos) == [
        "reader0@example.org", "reader2@example.org",
    ]  # fmt: skip
    skipped = committed.scalars(select(Delivery).where(Delivery.status == "failed")).one()
    assert skipped.last_error.startswith("suppressed")


@pytest.mark.parametrize("smtputf8", [True, False], ids=["smtputf8", "ascii-only"])
def test_international_addresses_go_out_or_fail_clearly(
    client, committed, smtp, celery_worker, smtputf8
):
    """An internationalised domain goes out in its ASCII form. A non-ASCII mailbox name needs
    SMTPUTF8: sent with it when the relay offers it, else that one delivery fails, saying why."""
    smtp.smtputf8 = smtputf8
    headers = bearer(committed)
    add_readers(committed, 2)
    committed.execute(
        insert(Subscriber),
        [
            {"email": e, "email_key": e, "name": "", "status": "active"}
            for e in ("josé@example.org", "reader@exämple.org")
        ],
    )
    committed.commit()
    campaign_id = start_campaign(committed)
    body = wait_for_status(client, headers, campaign_id, "sent")
    received = sorted(r for m in smtp.messages for r in m.rcpt_tos)
    ascii_ones = ["reader0@example.org", "reader1@example.org", "reader@xn--exmple-cua.org"]
    if smtputf8:
        assert (body["counts"]["sent"], body["counts"]["failed"]) == (4, 0)
        assert received == sorted([*ascii_ones, "josé@example.org"])
        return
    assert (body["counts"]["sent"], body["counts"]["failed"]) == (3, 1)
    assert received == ascii_ones
    failed = committed.scalars(select(Delivery).where(Delivery.status == "failed")).one()
    assert failed.relay_reply.startswith("553 5.6.7") and "SMTPUTF8" in failed.relay_reply
