"""The shared limits in Redis: domain rates, adaptive backoff and connection places."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from broadsheet.relays import parse_domain_rates, parse_smtp_url
from worker.throttle import MIN_FACTOR, Throttle


@pytest.fixture
def client(stack):
    client = stack["redis"].client()
    yield client
    for key in client.scan_iter(match="broadsheet:throttle:*"):
        client.delete(key)


def throttle(client, settings, **changes) -> Throttle:
    return Throttle(client, replace(settings, **changes))


def test_a_domain_at_its_rate_is_not_booked_beyond_the_wait_allowed(client, settings):
    limits = throttle(
        client, settings, send_rate=1000, domain_rates=parse_domain_rates("slow.example.org=2")
    )
    waits = [limits.reserve(None, "slow.example.org", max_wait=1.0) for _ in range(4)]
    assert [b.booked for b in waits] == [True, True, True, False]
    assert [round(b.wait, 1) for b in waits] == [0.0, 0.5, 1.0, 1.5]
    # Nothing was booked for the refused one, and other domains are not held up.
    assert limits.reserve(None, "slow.example.org", max_wait=1.0).wait == pytest.approx(1.5, 0.1)
    other = limits.reserve(None, "fast.example.com")
    assert other.booked and other.wait < 0.01


def test_a_throttling_reply_halves_a_rate_once_per_cooldown_and_it_recovers(client, settings):
    limits = throttle(client, settings, rate_recovery=2.0)
    assert limits.factors("relay", ["mx.example.org:25"]) == {"mx.example.org:25": 1.0}
    assert limits.slow_down("relay", "mx.example.org:25") == 0.5
    assert limits.slow_down("relay", "mx.example.org:25") == pytest.approx(0.5, abs=0.01)
    time.sleep(1.0)  # climbs 0.5 per RATE_RECOVERY (2 s): a quarter back after a second
    assert limits.factors("relay", ["mx.example.org:25"])["mx.example.org:25"] == pytest.approx(
        0.75, abs=0.05
    )


def test_backoff_never_goes_below_the_floor(client, settings):
    limits = throttle(client, settings)
    key = "broadsheet:throttle:backoff:domain:example.com"
    for _ in range(10):
        limits.slow_down("domain", "example.com")
        client.hset(key, "cut", 0)  # as if the cooldown had passed
    assert limits.factors("domain", ["example.com"])["example.com"] == pytest.approx(
        MIN_FACTOR, abs=1e-4
    )


@pytest.mark.timing  # the waits count the milliseconds between two calls
def test_a_domain_without_a_rate_is_limited_only_once_it_asks_to_slow_down(client, settings):
    limits = throttle(client, settings, send_rate=10)
    client.delete("broadsheet:throttle:global")
    first = [limits.reserve(None, "busy.example.org").wait for _ in range(2)]
    assert first[1] == pytest.approx(0.1, abs=0.01)  # only the global 10/s applies
    limits.slow_down("domain", "busy.example.org")
    time.sleep(0.3)  # let the global bookings pass
    after = [limits.reserve(None, "busy.example.org").wait for _ in range(2)]
    assert after[1] - after[0] == pytest.approx(0.2, abs=0.02)  # half of 10/s
    snapshot = limits.snapshot()
    assert snapshot["domains"] == [
        {
            "domain": "busy.example.org",
            "configured_rate": None,
            "effective_rate": pytest.approx(5.0, abs=0.1),
            "backoff": pytest.approx(0.5, abs=0.01),
        }
    ]


@pytest.mark.timing  # the waits count the milliseconds between two calls
def test_a_run_books_the_slots_one_call_per_message_would(client, settings):
    relay = replace(parse_smtp_url("smtp://mx.example.org:25"), rate=50.0)
    limits = throttle(client, settings, send_rate=100)
    run = limits.reserve_run(relay, ["a.example"] * 10, horizon=0.1)
    # The relay's 50/s is the tighter limit: a slot every 20 ms, up to 100 ms ahead.
    assert [round(w, 3) for w in run.waits] == [0.0, 0.02, 0.04, 0.06, 0.08, 0.1]
    # Another worker's next booking comes after the run, on both limits.
    assert limits.reserve(relay, "b.example").wait == pytest.approx(0.12, abs=0.005)
    assert limits.reserve(None, "b.example").wait == pytest.approx(0.13, abs=0.005)


def test_a_limited_domain_goes_alone_at_the_head_of_a_run(client, settings):
    rates = parse_domain_rates("slow.example.org=2")
    limits = throttle(client, settings, send_rate=1000, domain_rates=rates)
    limits.slow_down("domain", "backed.example.org")
    domains = ["a.example", "b.example", "slow.example.org", "a.example"]
    assert len(limits.reserve_run(None, domains, horizon=0.1).waits) == 2  # stops before it
    run = limits.reserve_run(None, [*domains[2:], "backed.example.org"], horizon=0.1)
    assert len(run.waits) == 2  # the limited domain first, then up to the backed-off one
    # Its next slot is 0.5 s away: beyond the wait allowed, nothing is booked.
    busy = limits.reserve_run(None, domains[2:], horizon=0.1, max_wait=0.1)
    assert busy.waits == [] and busy.first is not None and not busy.first.booked
    assert busy.first.wait == pytest.approx(0.5, abs=0.02)
    soon = limits.reserve_run(None, domains[2:], horizon=0.1, max_wait=1.0)
    assert soon.waits == [] and soon.first is not None
    assert soon.first.booked and soon.first.domain_only  # its slot only: the rest when it comes


def test_a_relay_allows_only_its_connections_and_a_lapsed_place_frees(client, settings):
    relay = parse_smtp_url("smtp://mx.example.org:25?connections=2")
    limits = throttle(client, settings, relays=(relay,))
    assert limits.acquire_connection(relay, "a", lease=30)
    assert limits.acquire_connection(relay, "b", lease=0.2)
    assert not limits.acquire_connection(relay, "c", lease=30)
    assert limits.acquire_connection(relay, "a", lease=30)  # a holder renews its own place
    assert limits.connections_in_use(relay) == 2
    time.sleep(0.3)  # b vanished without letting go: its place lapses
    assert limits.acquire_connection(relay, "c", lease=30)
    limits.release_connection(relay, "a")
    assert limits.acquire_connection(relay, "d", lease=30)
    assert not limits.acquire_connection(relay, "e", lease=30)
    relays = limits.snapshot()["relays"]
    assert isinstance(relays, list)
    relay_view = relays[0]
    assert relay_view["connections"] == {"limit": 2, "in_use": 2}
    assert (relay_view["configured_rate"], relay_view["effective_rate"]) == (None, None)
