"""Scheduled campaigns: an editor schedules a campaign through the API, and the scheduler's tick
starts it once its time has come, exactly once, even when two ticks run at the same moment."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from broadsheet.models import Campaign, CampaignStatus, utcnow
from broadsheet.services.articles import create_article
from broadsheet.services.campaigns import create_campaign, start_due
from tests.support.api import bearer, wait_for_status
from tests.support.factories import add_readers
from tests.support.services import CeleryBeat
from worker.tasks import tick


def iso(moment: datetime) -> str:
    return moment.isoformat()


def draft(client, headers) -> int:
    article = client.post(
        "/api/v1/articles",
        json={"title": "Tomorrow's Paper", "body_markdown": "x"},
        headers=headers,
    )
    campaign = client.post(
        "/api/v1/campaigns", json={"article_id": article.get_json()["id"]}, headers=headers
    )
    campaign_id: int = campaign.get_json()["id"]
    return campaign_id


def schedule(client, headers, campaign_id: int, at: object):
    return client.post(
        f"/api/v1/campaigns/{campaign_id}/schedule", json={"at": at}, headers=headers
    )


def status(session: Session, campaign_id: int) -> str:
    try:
        query = select(Campaign.status).where(Campaign.id == campaign_id)
        return session.execute(query).scalar_one().value
    finally:
        session.rollback()  # on SQLite an open transaction would hold the write lock


def test_schedule_reschedule_and_unschedule(client, committed):
    headers = bearer(committed)
    campaign_id = draft(client, headers)
    at = utcnow() + timedelta(days=1)
    answer = schedule(client, headers, campaign_id, at.astimezone().isoformat())
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["status"] == "scheduled"
    assert datetime.fromisoformat(body["scheduled_at"]) == at and body["started_at"] is None
    later = "2099-01-01T07:00:00+02:00"  # another zone: stored as the same moment in UTC
    body = schedule(client, headers, campaign_id, later).get_json()
    assert body["scheduled_at"] == "2099-01-01T05:00:00+00:00"
    path = f"/api/v1/campaigns/{campaign_id}/unschedule"
    body = client.post(path, headers=headers).get_json()
    assert (body["status"], body["scheduled_at"]) == ("draft", None)
    assert client.post(path, headers=headers).status_code == 409, "not scheduled any more"


@pytest.mark.parametrize(
    ("at", "complaint"),
    [
        (None, "must be an ISO 8601 date-time with a timezone"),
        (1764320400, "must be an ISO 8601 date-time with a timezone"),
        ("tomorrow at nine", "must be an ISO 8601 date-time with a timezone"),
        ("2099-13-01T07:00:00Z", "must be an ISO 8601 date-time with a timezone"),
        ("0001-01-01T00:00:00+01:00", "must be an ISO 8601 date-time with a timezone"),
        ("2099-01-01T07:00:00", "has no timezone"),
        ("2099-01-01", "has no timezone"),
        ("2020-01-01T07:00:00Z", "is in the past"),
    ],
)
def test_a_bad_time_gets_422_naming_the_field(client, committed, at, complaint):
    headers = bearer(committed)
    campaign_id = draft(client, headers)
    answer = schedule(client, headers, campaign_id, at)
    assert answer.status_code == 422
    assert complaint in answer.get_json()["fields"]["at"]
    assert status(committed, campaign_id) == "draft"


def test_only_drafts_and_scheduled_campaigns_can_be_scheduled(client, committed):
    headers = bearer(committed)
    campaign_id = draft(client, headers)
    at = iso(utcnow() + timedelta(hours=1))
    assert (
        client.post(f"/api/v1/campaigns/{campaign_id}/cancel", headers=headers).status_code == 200
    )
    answer = schedule(client, headers, campaign_id, at)
    assert answer.status_code == 409 and "cancelled" in answer.get_json()["error"]
    assert schedule(client, headers, 999_999, at).status_code == 404
    body = client.post("/api/v1/campaigns/999999/unschedule", headers=headers)
    assert body.status_code == 404


def test_a_scheduled_campaign_can_be_cancelled(client, committed):
    headers = bearer(committed)
    campaign_id = draft(client, headers)
    schedule(client, headers, campaign_id, iso(utcnow() + timedelta(hours=1)))
    answer = client.post(f"/api/v1/campaigns/{campaign_id}/cancel", headers=headers)
    assert answer.status_code == 200 and answer.get_json()["status"] == "cancelled"
    assert start_due(committed, utcnow() + timedelta(hours=2)) == []
    committed.rollback()


def scheduled_campaign(session, at: datetime) -> int:
    article = create_article(session, title="Tomorrow's Paper", body_markdown="x")
    campaign = create_campaign(session, article.id)
    campaign.status, campaign.scheduled_at = CampaignStatus.SCHEDULED, at
    session.commit()
    return campaign.id


def test_two_ticks_at_once_start_a_due_campaign_exactly_once(engine, committed):
    campaign_id = scheduled_campaign(committed, utcnow() - timedelta(seconds=1))
    later = scheduled_campaign(committed, utcnow() + timedelta(hours=1))
    first, second = Session(engine), Session(engine)
    results: list[list[int]] = []
    try:
        assert start_due(first) == [campaign_id], "the due one only, not the later one"
        # The second tick runs while the first has not committed: it waits for the first's
        # lock (PostgreSQL's row lock, SQLite's write lock), then finds nothing left to start.
        racer = threading.Thread(target=lambda: results.append(start_due(second)))
        racer.start()
        time.sleep(0.3)
        first.commit()
        racer.join(10)
        second.commit()
    finally:
        first.close()
        second.close()
    assert results == [[]]
    assert (status(committed, campaign_id), status(committed, later)) == ("sending", "scheduled")


@pytest.fixture
def log_offset(celery_worker) -> int:
    size: int = celery_worker.logfile.stat().st_size
    return size


def test_tick_starts_a_due_campaign_once_and_it_is_sent(
    client, committed, smtp, celery_worker, log_offset
):
    headers = bearer(committed)
    add_readers(committed, 30)
    campaign_id = draft(client, headers)
    at = utcnow() + timedelta(seconds=2)
    assert schedule(client, headers, campaign_id, iso(at)).status_code == 200
    assert tick()["started"] == 0, "not due yet"
    assert status(committed, campaign_id) == "scheduled" and smtp.messages == []
    time.sleep(max(0.0, (at - utcnow()).total_seconds()) + 0.1)
    tick.delay(), tick.delay()  # the worker's two pool processes run them at the same moment
    done = wait_for_status(client, headers, campaign_id, "sent")
    assert datetime.fromisoformat(done["started_at"]) >= at
    assert Counter(r for m in smtp.wait_for(30) for r in m.rcpt_tos) == Counter(
        {f"reader{n}@example.org": 1 for n in range(30)}
    )
    log = celery_worker.logfile.read_bytes()[log_offset:].decode(errors="replace")
    assert log.count("tick: {'started': 1") == 1, "one tick started it"
    assert log.count("broadsheet.start_campaign[") == 2, "one start: received, succeeded"


def test_beat_starts_a_scheduled_campaign_when_its_time_comes(
    client, committed, smtp, stack, celery_worker
):
    headers = bearer(committed)
    add_readers(committed, 10)
    campaign_id = draft(client, headers)
    at = datetime.now(UTC) + timedelta(seconds=3)
    assert schedule(client, headers, campaign_id, iso(at)).status_code == 200
    beat = CeleryBeat({**celery_worker.env, "TICK_SECONDS": "1"}, stack["workdir"])
    beat.start()
    try:
        done = wait_for_status(client, headers, campaign_id, "sent", timeout=60)
    finally:
        beat.stop()
    assert datetime.fromisoformat(done["started_at"]) >= at
    assert len(smtp.wait_for(10)) == 10
