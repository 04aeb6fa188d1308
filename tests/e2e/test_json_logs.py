"""LOG_FORMAT=json: the worker's lines are JSON objects that carry the task's id and, for a
campaign's tasks, the campaign's; a message the relay refused names its delivery and reader,
as does a bounce; the web's (gunicorn's, its access log, a signup's and an erasure's) are
JSON too."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

from sqlalchemy import select

from broadsheet.models import Delivery, Subscriber
from tests.e2e.test_metrics import gunicorn
from tests.support.api import bearer
from tests.support.factories import add_readers, start_campaign


def logged_until(logfile: Path, start: int, words: str, timeout: float = 10) -> str:
    """The log from byte `start` once it holds `words` (or once `timeout` has passed)."""
    deadline = time.monotonic() + timeout
    while True:
        text = logfile.read_bytes()[start:].decode(errors="replace")
        if words in text or time.monotonic() > deadline:
            return text
        time.sleep(0.1)


def test_worker_lines_are_json_with_task_and_campaign_ids(committed, smtp, celery_worker):
    celery_worker.restart(LOG_FORMAT="json")
    smtp.rcpt_rule = {
        "reader1@example.org": "554 5.7.1 rejected for policy reasons",
        "reader2@example.org": "550 5.1.1 no such user",
    }.get
    try:
        start = celery_worker.logfile.stat().st_size
        add_readers(committed, 4)
        campaign_id = start_campaign(committed)
        smtp.wait_for(2, timeout=30)
        text = logged_until(celery_worker.logfile, start, "bounced (campaign")
    finally:
        celery_worker.restart()
    # Celery's start-up banner is printed, not logged; every logged line is one object.
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert lines, text
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    planned = [line for line in lines if "planned" in line["message"]]
    assert planned, [line["message"] for line in lines]
    assert planned[0]["campaign_id"] == campaign_id
    assert planned[0]["task_id"]
    assert not [line for line in text.splitlines() if line.startswith("[20")], "a text line"
    deliveries = dict(
        committed.execute(
            select(Subscriber.email, Delivery.id)
            .join(Delivery, Delivery.subscriber_id == Subscriber.id)
            .where(Delivery.campaign_id == campaign_id)
        ).all()
    )
    readers = dict(committed.execute(select(Subscriber.email, Subscriber.id)).all())
    for address, fate in [("reader1@example.org", "failed"), ("reader2@example.org", "bounced")]:
        about = {"campaign_id": campaign_id, "delivery_id": deliveries[address],
                 "subscriber_id": readers[address]}  # fmt: skip
        said = [
            line for line in lines if f"delivery {deliveries[address]} {fate}" in line["message"]
        ]
        assert len(said) == 1 and about.items() <= said[0].items(), said
    bounced = [line for line in lines if "bounced (campaign" in line["message"]]
    assert bounced and bounced[0]["subscriber_id"] == readers["reader2@example.org"]
    sent = {deliveries["reader0@example.org"], deliveries["reader3@example.org"]}
    assert not [line for line in lines if line.get("delivery_id") in sent]  # no line per sent


def test_web_lines_are_json(committed, tmp_path):
    log = tmp_path / "web.log"
    headers = {**bearer(committed), "Content-Type": "application/json"}
    with gunicorn(workers=1, log_path=log, LOG_FORMAT="json") as base:
        urllib.request.urlopen(base + "/healthz", timeout=5).close()
        added = urllib.request.Request(
            base + "/api/v1/subscribers", b'{"email": "ann@example.org"}', headers, method="POST"
        )
        with urllib.request.urlopen(added, timeout=5) as answer:
            reader = json.load(answer)["id"]
        erase = urllib.request.Request(f"{base}/api/v1/subscribers/{reader}", None, headers,
                                       method="DELETE")  # fmt: skip
        urllib.request.urlopen(erase, timeout=5).close()
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert any(line["logger"] == "gunicorn.access" and "/healthz" in line["message"]
               for line in lines), lines  # fmt: skip
    assert any(line["logger"] == "gunicorn.error" for line in lines)
    about = [line["message"] for line in lines if line.get("subscriber_id") == reader]
    assert about == [f"subscriber {reader} added (api, pending)", f"subscriber {reader} erased"]
