"""Relay connections shared by every kind of send (campaign batches, the outbox sweep): a
connection place at a relay held in Redis, the connection itself, and what a throttling
refusal means for the rates every worker shares."""

from __future__ import annotations

import contextlib
import logging
import random
import smtplib
import time

import redis

from broadsheet import telemetry
from broadsheet.settings import SmtpTarget
from worker import heartbeat, metrics, smtp
from worker.resources import Resources
from worker.smtp import Rejected

log = logging.getLogger(__name__)

# How long a sender waits for a free connection place before it is retried later, the retry
# delay, and how long a place is held without renewal (a vanished worker's place frees then).
PLACE_WAIT, PLACE_RETRY, PLACE_LEASE = 3.0, 2.0, 60.0


def in_turn(relays: tuple[SmtpTarget, ...]) -> list[SmtpTarget]:
    """The relays in the order a sender tries them: a random first, so load spreads."""
    first = random.randrange(len(relays))
    return list(relays[first:] + relays[:first])


def wait_for_place(res: Resources, relays: list[SmtpTarget], holder: str) -> int | None:
    """Index of a relay where `holder` got a connection place, waiting a little for one;
    a Redis that cannot be asked does not stop mail (the place is not enforced then)."""
    deadline = time.monotonic() + PLACE_WAIT
    while True:
        for index, relay in enumerate(relays):
            try:
                if res.throttle.acquire_connection(relay, holder, PLACE_LEASE):
                    return index
            except redis.RedisError as exc:
                log.warning("connection places unavailable, sending anyway: %s", exc)
                return index
        if time.monotonic() > deadline:
            return None
        time.sleep(0.1)


def connect_first(
    res: Resources, relays: list[SmtpTarget], holder: str
) -> tuple[SmtpTarget, smtplib.SMTP] | str:
    """A connection to the first relay (whose place is held) that answers, else to another
    with a free place; the error (every relay tried) when none can be reached."""
    errors = []
    for number, relay in enumerate(relays):
        try:
            if number and not res.throttle.acquire_connection(relay, holder, PLACE_LEASE):
                continue
        except redis.RedisError:
            pass
        try:
            conn = smtp.connect(relay, timeout=res.settings.smtp_timeout)
        except (OSError, smtplib.SMTPException) as exc:
            if isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code == 421:
                _slow_down(res, "relay", relay.name)
            errors.append(f"{relay.name}: {exc}")
            metrics.add(telemetry.RELAY_CONNECT_FAILURES, relay.name)
            heartbeat.relay_refused(res.redis, relay.name, str(exc) or type(exc).__name__)
            with contextlib.suppress(redis.RedisError):
                res.throttle.release_connection(relay, holder)
            continue
        heartbeat.relay_answered(res.redis, relay.name)
        return relay, conn
    return f"cannot reach the relay: {'; '.join(errors)}"


def release_places(res: Resources, relays: list[SmtpTarget], holder: str) -> None:
    for relay in relays:
        with contextlib.suppress(redis.RedisError):
            res.throttle.release_connection(relay, holder)


def slow_down_after(res: Resources, relay: SmtpTarget, domain: str, exc: Rejected) -> None:
    """A refusal slows down the relay (421) or the recipient's domain (4.7.x); others not."""
    if exc.code == 421:
        _slow_down(res, "relay", relay.name)
    elif exc.throttling:
        _slow_down(res, "domain", domain)


def _slow_down(res: Resources, kind: str, name: str) -> None:
    """A throttling reply: halve that relay's or domain's rate for every worker."""
    try:
        factor = res.throttle.slow_down(kind, name)
    except redis.RedisError as exc:
        log.warning("could not slow down %s %s: %s", kind, name, exc)
        return
    log.warning("%s %s asked us to slow down: now at %.0f%% of its rate", kind, name, factor * 100)
