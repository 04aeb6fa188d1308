"""What the web counts for /metrics: each signup, confirmation and unsubscribe once its
request commits, nothing for a request that failed (its transaction rolled back), and
counters that never name a reader."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from broadsheet.services.subscriptions import find_subscriber
from broadsheet.signing import make_confirm_token, make_unsubscribe_token
from tests.support.api import bearer

pytestmark = pytest.mark.commits  # the app's own sessions, whose commits are counted


def counters(client) -> dict[str, float]:
    """Each sample of /metrics by its name and labels, e.g. `unsubscribes_total{one-click}`."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            labels = ",".join(sample.labels.values())
            found[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return found


def test_signup_confirm_and_unsubscribe_are_each_counted_once(client, committed, settings):
    before = counters(client)
    headers = bearer(committed)
    for email in ("one@example.org", "two@example.org"):
        response = client.post("/api/v1/subscribers", json={"email": email}, headers=headers)
        assert response.status_code == 201
    bad = client.post("/api/v1/subscribers", json={"email": "not an address"}, headers=headers)
    assert bad.status_code == 422  # rolled back: not counted
    reader = find_subscriber(committed, "one@example.org")
    assert reader is not None
    reader_id, email_key = reader.id, reader.email_key
    committed.rollback()  # end the read: on SQLite the app's writes would wait for it
    confirm = make_confirm_token(settings.secret_key, reader_id, email_key)
    for _ in range(2):  # a second click changes nothing, and counts nothing
        assert client.post(f"/confirm/{confirm}").status_code == 200
    unsubscribe = f"/unsubscribe/{make_unsubscribe_token(settings.secret_key, reader_id)}"
    for _ in range(2):
        answer = client.post(unsubscribe, data={"List-Unsubscribe": "One-Click"})
        assert answer.status_code == 200
    after = counters(client)

    def grew(name: str) -> float:
        return after.get(name, 0) - before.get(name, 0)

    assert grew("broadsheet_signups_total") == 2
    assert grew("broadsheet_confirmations_total") == 1
    assert grew("broadsheet_unsubscribes_total{one-click}") == 1
    text = client.get("/metrics").text
    assert "example.org" not in text  # no address, no recipient domain


def test_every_metric_is_named_and_explained_before_its_first_event(client):
    text = client.get("/metrics").text
    for name in ("messages_total", "relay_latency_seconds", "throttle_waits_total",
                 "bounces_total", "complaints_total", "opens_total", "clicks_total"):  # fmt: skip
        family = name.removesuffix("_total")
        assert f"# HELP broadsheet_{family}" in text, name
        assert f"# TYPE broadsheet_{family}" in text, name
    for gauge in ("backlog_deliveries", "oldest_queued_delivery_age_seconds",
                  "outbox_due_messages", "celery_queue_length", "workers_alive"):  # fmt: skip
        assert f"# TYPE broadsheet_{gauge} gauge" in text, gauge
