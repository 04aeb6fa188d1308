"""GET /metrics from a real gunicorn with 2 worker processes, after a real send through the
Celery worker's 2 pool processes: every message and every signup counted once, whichever
process answers the scrape; METRICS_TOKEN; and promtool's verdict on the text."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from broadsheet.settings import PROJECT_ROOT
from tests.support.api import bearer
from tests.support.factories import add_readers, start_campaign
from tests.support.smtp import free_port


@contextmanager
def gunicorn(workers: int = 2, log_path: Path | None = None, **env: str) -> Iterator[str]:
    """`broadsheet web` with `workers` processes on a free port, its output in `log_path` (or
    a temporary file); its base URL."""
    port = free_port()
    with open(log_path, "w+b") if log_path else tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "web", "--port", str(port),
             "--workers", str(workers), "--threads", "2"],
            cwd=PROJECT_ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(base + "/healthz", timeout=2).close()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        raise RuntimeError(f"gunicorn did not start: {log.read()!r}") from None
                    time.sleep(0.1)
            yield base
        finally:
            proc.terminate()
            proc.wait(20)


def scrape(
    base: str, token: str | None = None
) -> tuple[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    """The text of /metrics and its samples by (name, sorted labels)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(
        urllib.request.Request(base + "/metrics", headers=headers), timeout=10
    ) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    return text, samples


def total(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    """The sum of `name`'s samples whose labels include `labels`."""
    return sum(
        value for (n, ls), value in samples.items()
        if n == name and set(labels.items()) <= set(ls)
    )  # fmt: skip


def post_json(base: str, path: str, body: object, headers: dict[str, str]) -> int:
    request = urllib.request.Request(
        base + path, data=json.dumps(body).encode(), method="POST",
        headers={**headers, "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.status)


def test_every_message_and_signup_counted_once(committed, smtp, celery_worker, settings):
    # Batches of 5 spread the send over both pool processes.
    celery_worker.restart(BATCH_SIZE="5")
    try:
        with gunicorn(workers=2) as base:
            _, before = scrape(base)
            add_readers(committed, 30)
            start_campaign(committed)
            headers = bearer(committed)
            for n in range(6):  # signups over the API, answered by either gunicorn worker
                body = {"email": f"new{n}@example.net", "name": f"New {n}"}
                assert post_json(base, "/api/v1/subscribers", body, headers) == 201
            smtp.wait_for(36, timeout=60)  # 30 readers and 6 confirmations
            deadline = time.monotonic() + 20
            while True:  # each run pushes its counts as it ends
                _, after = scrape(base)
                sent = total(after, "broadsheet_messages_total", outcome="sent")
                sent -= total(before, "broadsheet_messages_total", outcome="sent")
                if sent >= 36 or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            for _ in range(4):  # the same figures from whichever process answers
                _, again = scrape(base)
                assert total(again, "broadsheet_messages_total", outcome="sent") == total(
                    after, "broadsheet_messages_total", outcome="sent"
                )
    finally:
        celery_worker.restart()
    assert sent == 36

    def grew(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert grew("broadsheet_signups_total") == 6
    assert grew("broadsheet_relay_latency_seconds_count") == 36
    assert grew("broadsheet_batch_duration_seconds_count", kind="campaign") >= 6
    assert grew("broadsheet_batch_duration_seconds_count", kind="outbox") >= 1
    assert grew("broadsheet_messages_total", outcome="sent", relay=settings.smtp.name) == 36
    assert total(after, "broadsheet_workers_alive") == 1
    assert ("broadsheet_backlog_deliveries", ()) in after


def test_metrics_token(committed):
    with gunicorn(workers=1, METRICS_TOKEN="s3cret-scrape") as base:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-scrape"}):
            request = urllib.request.Request(base + "/metrics", headers=headers)
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, timeout=10)
            assert refused.value.code == 401
            assert "METRICS_TOKEN" in refused.value.read().decode()
        _, samples = scrape(base, token="s3cret-scrape")
        assert ("broadsheet_redis_up", ()) in samples


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool: make tools")
def test_promtool_finds_nothing_to_say(committed, smtp, celery_worker):
    add_readers(committed, 3)
    start_campaign(committed)
    smtp.wait_for(3, timeout=30)
    with gunicorn(workers=1) as base:
        text, _ = scrape(base)
    assert "broadsheet_messages_total{" in text
    checked = subprocess.run(
        ["promtool", "check", "metrics"], input=text.encode(), capture_output=True, timeout=30
    )
    assert checked.returncode == 0 and not checked.stdout.strip(), (
        checked.stdout.decode() + checked.stderr.decode()
    )


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool: make tools")
def test_with_the_database_down_the_redis_side_is_still_scraped(committed, smtp, celery_worker):
    add_readers(committed, 2)
    start_campaign(committed)
    smtp.wait_for(2, timeout=30)
    down = f"postgresql://broadsheet@127.0.0.1:{free_port()}/broadsheet"  # nothing listens
    with gunicorn(workers=1, DATABASE_URL=down) as base:
        text, samples = scrape(base)
    assert samples[("broadsheet_database_up", ())] == 0
    assert samples[("broadsheet_redis_up", ())] == 1
    sent = [v for (name, labels), v in samples.items()
            if name == "broadsheet_messages_total" and ("outcome", "sent") in labels]  # fmt: skip
    assert sum(sent) >= 2  # counted in Redis (earlier tests' sends too)
    assert "broadsheet_backlog_deliveries" not in text  # unknown, not a false zero
    checked = subprocess.run(
        ["promtool", "check", "metrics"], input=text.encode(), capture_output=True, timeout=30
    )
    assert checked.returncode == 0 and not checked.stdout.strip(), checked.stdout.decode()
