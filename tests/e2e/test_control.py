"""Operators control a send: pause, resume, cancel, retry the failed ones; a campaign whose
failures pile up pauses itself. Nobody is skipped or mailed twice along the way."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from broadsheet.models import Delivery, Subscriber, utcnow
from broadsheet.services.claims import SUPPRESSED_ERROR
from broadsheet.services.subscriptions import unsubscribe
from tests.support.api import bearer, wait_for_status
from tests.support.factories import add_readers, start_campaign


@pytest.fixture
def steady(celery_worker):
    celery_worker.restart(SEND_RATE="200", BATCH_SIZE="20", PAUSE_AFTER_ATTEMPTS="40")
    yield celery_worker
    celery_worker.restart()


def received(smtp) -> Counter[str]:
    return Counter(r for m in smtp.messages for r in m.rcpt_tos)


def settle(smtp, quiet: float = 1.0) -> int:
    """Wait until no message arrived for `quiet` seconds; returns the count."""
    count = len(smtp.messages)
    while True:
        time.sleep(quiet)
        if len(smtp.messages) == count:
            return count
        count = len(smtp.messages)


def test_pause_then_resume_skips_and_doubles_nobody(client, committed, smtp, steady):
    headers = bearer(committed)
    add_readers(committed, 600)
    campaign_id = start_campaign(committed)
    smtp.wait_for(100)
    paused = client.post(f"/api/v1/campaigns/{campaign_id}/pause", headers=headers)
    assert paused.status_code == 200 and paused.get_json()["status"] == "paused"
    assert paused.get_json()["pause_reason"] == "paused by an operator"
    stopped_at = settle(smtp)
    assert stopped_at < 600, "the pause did not stop the send"
    counts = client.get(f"/api/v1/campaigns/{campaign_id}", headers=headers).get_json()["counts"]
    assert counts["sending"] == 0 and counts["sent"] == stopped_at
    assert counts["queued"] == 600 - stopped_at

    resumed = client.post(f"/api/v1/campaigns/{campaign_id}/resume", headers=headers)
    assert resumed.status_code == 202
    done = wait_for_status(client, headers, campaign_id, "sent")
    assert done["counts"]["sent"] == 600 and done["pause_reason"] is None
    assert set(received(smtp).values()) == {1} and len(received(smtp)) == 600


def test_cancel_stops_the_send_for_good(client, committed, smtp, steady):
    headers = bearer(committed)
    add_readers(committed, 400)
    campaign_id = start_campaign(committed)
    smtp.wait_for(50)
    answer = client.post(f"/api/v1/campaigns/{campaign_id}/cancel", headers=headers)
    assert answer.status_code == 200 and answer.get_json()["status"] == "cancelled"
    stopped_at = settle(smtp)
    body = client.get(f"/api/v1/campaigns/{campaign_id}", headers=headers).get_json()
    assert body["status"] == "cancelled" and body["finished_at"]
    assert body["counts"]["sent"] == stopped_at < 400
    assert body["counts"]["queued"] == 400 - stopped_at
    assert (
        client.post(f"/api/v1/campaigns/{campaign_id}/resume", headers=headers).status_code == 409
    )
    assert set(received(smtp).values()) == {1}


def test_retry_failed_sends_only_to_those_who_missed_it(client, committed, smtp, steady):
    headers = bearer(committed)
    add_readers(committed, 30)
    refused = {"reader3@example.org", "reader13@example.org", "reader23@example.org"}
    smtp.rcpt_rule = lambda rcpt: "550 5.7.1 blocked for now" if rcpt in refused else None
    campaign_id = start_campaign(committed)
    first = wait_for_status(client, headers, campaign_id, "sent")
    assert (first["counts"]["sent"], first["counts"]["failed"]) == (27, 3)

    smtp.rcpt_rule = None
    answer = client.post(f"/api/v1/campaigns/{campaign_id}/retry-failed", headers=headers)
    assert answer.status_code == 202 and answer.get_json()["requeued"] == 3
    done = wait_for_status(client, headers, campaign_id, "sent")
    assert (done["counts"]["sent"], done["counts"]["failed"]) == (30, 0)
    assert received(smtp) == Counter({f"reader{n}@example.org": 1 for n in range(30)})


@pytest.fixture
def quick_retries(celery_worker):
    celery_worker.restart(SEND_RATE="200", BATCH_SIZE="20", RETRY_DELAYS="1,1")
    yield celery_worker
    celery_worker.restart()


def test_retry_failed_long_after_planning_survives_a_temporary_error(
    client, committed, smtp, quick_retries
):
    headers = bearer(committed)
    add_readers(committed, 5)
    smtp.rcpt_rule = lambda rcpt: (
        "550 5.7.1 blocked for now" if rcpt == "reader3@example.org" else None
    )
    campaign_id = start_campaign(committed)
    assert wait_for_status(client, headers, campaign_id, "sent")["counts"]["failed"] == 1
    # The send was planned two days ago, longer than RETRY_MAX_AGE (one day) ago.
    committed.execute(
        update(Delivery)
        .where(Delivery.campaign_id == campaign_id)
        .values(created_at=utcnow() - timedelta(days=2), queued_at=utcnow() - timedelta(days=2))
    )
    committed.commit()
    refused: list[str] = []  # the relay is busy the first time, then takes the message

    def busy_once(rcpt: str) -> str | None:
        if rcpt == "reader3@example.org" and not refused:
            refused.append(rcpt)
            return "451 4.3.0 busy, try again later"
        return None

    smtp.rcpt_rule = busy_once
    answer = client.post(f"/api/v1/campaigns/{campaign_id}/retry-failed", headers=headers)
    assert answer.status_code == 202 and answer.get_json()["requeued"] == 1
    done = wait_for_status(client, headers, campaign_id, "sent")
    assert (done["counts"]["sent"], done["counts"]["failed"]) == (5, 0)
    assert refused == ["reader3@example.org"], "the temporary refusal did happen"
    assert received(smtp) == Counter({f"reader{n}@example.org": 1 for n in range(5)})


def test_campaign_pauses_itself_when_failures_pile_up(client, committed, smtp, steady):
    headers = bearer(committed)
    add_readers(committed, 300)
    smtp.rcpt_rule = lambda rcpt: "550 5.1.1 no such user" if rcpt[-13] in "13579" else None
    campaign_id = start_campaign(committed)
    body = wait_for_status(client, headers, campaign_id, "paused")
    assert body["pause_reason"].startswith("paused automatically:")
    settle(smtp)
    counts = client.get(f"/api/v1/campaigns/{campaign_id}", headers=headers).get_json()["counts"]
    assert counts["queued"] > 0, "it paused before the end"
    assert (
        sum(counts[k] for k in ("queued", "sending", "sent", "failed", "bounced", "unknown"))
        == (counts["total"])
    )


@pytest.mark.timing  # how many readers leave before their turn depends on the pace
def test_readers_leaving_mid_send_do_not_pause_the_campaign(client, committed, smtp, steady):
    headers = bearer(committed)
    add_readers(committed, 600)
    campaign_id = start_campaign(committed)
    smtp.wait_for(40)
    leaving = committed.scalars(
        select(Subscriber.id).where(Subscriber.email_key.like("reader%")).order_by(Subscriber.id)
    ).all()[300:]
    for subscriber_id in leaving:
        unsubscribe(committed, subscriber_id)
    committed.commit()
    done = wait_for_status(client, headers, campaign_id, "sent")
    assert done["pause_reason"] is None
    counts = done["counts"]
    assert counts["failed"] > 200, "most readers who left were not reached yet"
    assert counts["sent"] + counts["failed"] == 600
    failed = committed.execute(
        select(Delivery.last_error, Delivery.suppressed).where(
            Delivery.campaign_id == campaign_id, Delivery.status == "failed"
        )
    ).all()
    committed.rollback()
    assert set(failed) == {(SUPPRESSED_ERROR, True)}, "kept as failed, marked, with the reason"
    assert set(received(smtp).values()) == {1} and len(received(smtp)) == counts["sent"]


@pytest.mark.parametrize(
    ("action", "status"), [("pause", "draft"), ("resume", "draft"), ("retry-failed", "draft")]
)
def test_controls_refuse_the_wrong_state(client, committed, action, status):
    headers = bearer(committed)
    article = client.post(
        "/api/v1/articles", json={"title": "T", "body_markdown": "b"}, headers=headers
    ).get_json()
    campaign = client.post(
        "/api/v1/campaigns", json={"article_id": article["id"]}, headers=headers
    ).get_json()
    assert campaign["status"] == status
    answer = client.post(f"/api/v1/campaigns/{campaign['id']}/{action}", headers=headers)
    assert answer.status_code == 409 and answer.get_json()["error"]
    assert client.post("/api/v1/campaigns/999/pause", headers=headers).status_code == 404
