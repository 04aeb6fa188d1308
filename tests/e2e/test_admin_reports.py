"""Reports to admins through the real worker and relay: a campaign sent, or pausing itself,
brings each admin one email with its figures and link; an operator's pause, other roles and
NOTIFY_ADMINS=off bring none."""

from __future__ import annotations

import time

import pytest

from tests.support.api import bearer, text_part, wait_for_status
from tests.support.factories import add_readers, make_user, start_campaign

ADMINS = ("ada@example.org", "bob@example.org")
OTHERS = ("editor@example.org", "operator@example.org")


@pytest.fixture
def staff(committed) -> None:
    for address in ADMINS:
        make_user(committed, "admin", address)
    make_user(committed, "editor")
    make_user(committed, "operator")


def reports_to(smtp, address: str, timeout: float = 15.0) -> list[str]:
    """The texts of the reports `address` received, once one arrived (or `timeout` passed),
    plus a second for a duplicate to show up."""
    deadline = time.monotonic() + timeout
    while not smtp.to(address) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)
    return [text_part(m.parsed()) for m in smtp.to(address)]


def test_a_sent_campaign_brings_each_admin_one_report(
    client, committed, smtp, staff, celery_worker
):
    headers = bearer(committed)
    add_readers(committed, 6)
    smtp.rcpt_rule = lambda rcpt: "550 5.7.1 blocked" if rcpt == "reader2@example.org" else None
    campaign_id = start_campaign(committed)
    wait_for_status(client, headers, campaign_id, "sent")
    for address in ADMINS:
        texts = reports_to(smtp, address)
        assert len(texts) == 1, f"{address} got {len(texts)} reports"
        [message] = smtp.to(address)
        assert message.parsed()["Subject"].startswith("Sent: ")
        assert "Sent:          5" in texts[0] and "Failed:        1" in texts[0]
        assert f"/admin/campaigns/{campaign_id}" in texts[0]
    for address in OTHERS:
        assert smtp.to(address) == [], f"{address} is not an admin"


@pytest.fixture
def steady(celery_worker):
    celery_worker.restart(SEND_RATE="200", BATCH_SIZE="10", PAUSE_AFTER_ATTEMPTS="10")
    yield celery_worker
    celery_worker.restart()


def test_a_campaign_pausing_itself_brings_a_paused_report(client, committed, smtp, staff, steady):
    headers = bearer(committed)
    add_readers(committed, 60)
    smtp.rcpt_rule = lambda rcpt: None if rcpt in ADMINS else "554 5.7.1 refused"
    campaign_id = start_campaign(committed)
    body = wait_for_status(client, headers, campaign_id, "paused")
    assert body["pause_reason"].startswith("paused automatically:")
    for address in ADMINS:
        texts = reports_to(smtp, address)
        assert len(texts) == 1
        assert smtp.to(address)[0].parsed()["Subject"].startswith("Paused itself: ")
        assert body["pause_reason"] in texts[0] and "resume" in texts[0]


@pytest.fixture
def slow(celery_worker):
    celery_worker.restart(SEND_RATE="20", BATCH_SIZE="10")
    yield celery_worker
    celery_worker.restart()


def test_an_operators_pause_brings_no_report(client, committed, smtp, staff, slow):
    headers = bearer(committed)
    add_readers(committed, 60)
    campaign_id = start_campaign(committed)
    smtp.wait_for(5)
    answer = client.post(f"/api/v1/campaigns/{campaign_id}/pause", headers=headers)
    assert answer.status_code == 200 and answer.get_json()["status"] == "paused"
    time.sleep(2.0)
    assert [smtp.to(address) for address in ADMINS] == [[], []]


@pytest.fixture
def not_notifying(celery_worker):
    celery_worker.restart(NOTIFY_ADMINS="off")
    yield celery_worker
    celery_worker.restart()


def test_notify_admins_off_brings_no_report(client, committed, smtp, staff, not_notifying):
    headers = bearer(committed)
    add_readers(committed, 3)
    campaign_id = start_campaign(committed)
    wait_for_status(client, headers, campaign_id, "sent")
    time.sleep(2.0)
    assert [smtp.to(address) for address in ADMINS] == [[], []]
