"""LOG_FORMAT=json: the worker's lines are JSON objects that carry the task's id and, for a
campaign's tasks, the campaign's; the web's (gunicorn's and its access log) are JSON too."""

from __future__ import annotations

import json
import urllib.request

from tests.e2e.test_metrics import gunicorn
from tests.support.factories import add_readers, start_campaign


def test_worker_lines_are_json_with_task_and_campaign_ids(committed, smtp, celery_worker):
    celery_worker.restart(LOG_FORMAT="json")
    try:
        start = celery_worker.logfile.stat().st_size
        add_readers(committed, 3)
        campaign_id = start_campaign(committed)
        smtp.wait_for(3, timeout=30)
        text = celery_worker.logfile.read_bytes()[start:].decode(errors="replace")
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


def test_web_lines_are_json(committed, tmp_path):
    log = tmp_path / "web.log"
    with gunicorn(workers=1, log_path=log, LOG_FORMAT="json") as base:
        urllib.request.urlopen(base + "/healthz", timeout=5).close()
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert any(line["logger"] == "gunicorn.access" and "/healthz" in line["message"]
               for line in lines), lines  # fmt: skip
    assert any(line["logger"] == "gunicorn.error" for line in lines)
