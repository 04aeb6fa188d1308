"""Throttling through the real worker: several relays, domain rates, backoff, connection pools."""

from __future__ import annotations

import collections
import time
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from broadsheet.models import Delivery
from broadsheet.relays import parse_domain_rates, parse_smtp_urls
from tests.support.api import bearer, wait_for_status
from tests.support.factories import add_readers, start_campaign
from tests.support.smtp import SmtpServer
from web.app import create_app, dispose


def arrival_rate(times: list[float]) -> float:
    times = sorted(times)
    return (len(times) - 1) / (times[-1] - times[0])


def busiest_second(times: list[float]) -> int:
    return max(sum(1 for t in times if start <= t < start + 1) for start in times)


def recipients(*handlers) -> collections.Counter[str]:
    return collections.Counter(r for h in handlers for m in h.messages for r in m.rcpt_tos)


@pytest.fixture
def second_relay(smtp):
    server = SmtpServer()
    server.start()
    yield server
    server.stop()
    server.close()


@pytest.fixture
def restore_worker(celery_worker):
    yield celery_worker
    celery_worker.restart()


def test_each_relay_holds_its_own_rate_and_both_carry_mail(
    committed, stack, second_relay, restore_worker
):
    first = stack["smtp"]
    relays = f"{first.url}?rate=15 {second_relay.url}?rate=15"
    restore_worker.restart(SMTP_URL=relays, SEND_RATE="1000", BATCH_SIZE="10")
    add_readers(committed, 160)
    start_campaign(committed)
    deadline = time.monotonic() + 60
    while len(first.handler.messages) + len(second_relay.handler.messages) < 160:
        assert time.monotonic() < deadline, restore_worker.log()
        time.sleep(0.2)
    got = recipients(first.handler, second_relay.handler)
    assert sorted(got) == sorted(f"reader{n}@example.org" for n in range(160))
    assert set(got.values()) == {1}
    for server in (first, second_relay):
        times = [m.at for m in server.handler.messages]
        rate = arrival_rate(times)
        print(f"\nrelay {server.url}: {len(times)} messages at {rate:.1f}/s")
        assert rate <= 15 * 1.1
        assert busiest_second(times) <= 15 + 10  # the rate plus one batch


def test_a_domain_rate_slows_only_that_domain(client, committed, smtp, restore_worker):
    """One reader in ten is at a domain limited to 2 a second: they trickle out at that rate
    while everyone else is sent at once, in the same batches."""
    restore_worker.restart(DOMAIN_RATES="slow.example.org=2", SEND_RATE="1000", BATCH_SIZE="20")
    for group in range(20):
        add_readers(committed, 1, f"s{group}-", "slow.example.org")
        add_readers(committed, 9, f"f{group}-", "example.org")
    campaign_id = start_campaign(committed)
    wait_for_status(client, bearer(committed), campaign_id, "sent", timeout=90)
    slow = sorted(m.at for m in smtp.messages if m.rcpt_tos[0].endswith("@slow.example.org"))
    fast = sorted(m.at for m in smtp.messages if m.rcpt_tos[0].endswith("@example.org"))
    assert (len(slow), len(fast)) == (20, 180)
    assert set(recipients(smtp).values()) == {1}
    rate = arrival_rate(slow)
    spans = slow[-1] - slow[0], fast[-1] - fast[0]
    print(f"\nslow.example.org: {rate:.2f}/s over {spans[0]:.1f} s; the rest in {spans[1]:.1f} s")
    assert rate <= 2 * 1.1
    assert busiest_second(slow) <= 2 + 1
    # The others were not held behind the slow domain's readers.
    assert fast[-1] - fast[0] < (slow[-1] - slow[0]) / 2


def test_throttling_replies_halve_a_domain_rate_and_greylisting_does_not(
    committed, smtp, settings, restore_worker
):
    restore_worker.restart(
        DOMAIN_RATES="busy.example.org=40", SEND_RATE="1000", BATCH_SIZE="10", RETRY_DELAYS="1,1,2"
    )
    add_readers(committed, 30, "b", "busy.example.org")
    add_readers(committed, 30, "g", "grey.example.com")
    refused: collections.Counter[str] = collections.Counter()

    def rule(address: str) -> str | None:
        if refused[address]:
            return None  # accepted on the retry
        if address in ("b1@busy.example.org", "b2@busy.example.org"):
            refused[address] += 1
            return "451 4.7.1 Too many messages from your IP, slow down"
        if address.startswith(("g1@", "g2@", "g3@")):
            refused[address] += 1
            return "450 4.2.0 Greylisted, try again later"
        return None

    smtp.rcpt_rule = rule
    app = create_app(
        replace(
            settings,
            domain_rates=parse_domain_rates("busy.example.org=40"),
            send_rate=1000,
        )
    )
    client = app.test_client()
    headers = bearer(committed)
    campaign_id = start_campaign(committed)
    body = wait_for_status(client, headers, campaign_id, "sent", timeout=60)
    assert body["counts"]["sent"] == 60
    assert set(recipients(smtp).values()) == {1}
    rates = client.get("/api/v1/rates", headers=headers).get_json()
    domains = {d["domain"]: d for d in rates["domains"]}
    busy = domains["busy.example.org"]
    assert busy["configured_rate"] == 40
    assert busy["backoff"] < 0.6 and busy["effective_rate"] < 24
    assert "grey.example.com" not in domains  # greylisting retried that reader only
    assert rates["relays"][0]["backoff"] == 1.0
    retried = committed.scalar(select(func.count()).where(Delivery.attempts > 1))
    assert retried == 5
    dispose(app)


@pytest.mark.timing
def test_a_threads_pool_keeps_many_connections_busy_on_a_slow_relay(
    client, committed, smtp, restore_worker
):
    """One message takes 0.1 s at this relay, so one connection does under 10 a second; ten
    connections from one worker process reach the configured 40."""
    smtp.stall_data = lambda _rcpt: 0.1
    restore_worker.restart(
        "--pool", "threads", "--concurrency", "10", SEND_RATE="40", BATCH_SIZE="10"
    )
    add_readers(committed, 200)
    campaign_id = start_campaign(committed)
    wait_for_status(client, bearer(committed), campaign_id, "sent", timeout=60)
    times = [m.at for m in smtp.messages]
    assert len(times) == 200 and set(recipients(smtp).values()) == {1}
    rate = arrival_rate(times)
    print(f"\n200 readers, 0.1 s per message at the relay, 10 threads: {rate:.1f} messages/s")
    assert 36 <= rate <= 44


def test_the_relay_connection_limit_caps_parallel_sends(
    client, committed, stack, smtp, restore_worker
):
    smtp.stall_data = lambda _rcpt: 0.1
    url = f"{stack['smtp'].url}?connections=2"
    restore_worker.restart(
        "--pool", "threads", "--concurrency", "10", SMTP_URL=url, SEND_RATE="1000", BATCH_SIZE="10"
    )
    add_readers(committed, 60)
    campaign_id = start_campaign(committed)
    wait_for_status(client, bearer(committed), campaign_id, "sent", timeout=60)
    rate = arrival_rate([m.at for m in smtp.messages])
    print(f"\n2 connections, 0.1 s per message: {rate:.1f} messages/s")
    assert rate <= 2 / 0.1 * 1.1
    assert parse_smtp_urls(url)[0].connections == 2
