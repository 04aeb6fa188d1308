"""Confirmation mail through the outbox and the real worker's sweep: what each kind of refusal
means for the reader, that temporary trouble is retried, and that a burst of signups goes out
over few connections, each reader mailed once."""

from __future__ import annotations

import io
import time
from datetime import datetime

import pytest
from sqlalchemy import select

from broadsheet.imports import import_subscribers
from broadsheet.models import OutboxMessage, Subscriber
from tests.support.factories import sign_up
from worker import tasks
from worker.tasks import wake_sweep


@pytest.fixture
def signup(committed, stack, celery_worker):
    """`signup(email)`: the reader and their confirmation committed, a sweep asked for (the
    worker sends it)."""
    return lambda email: sign_up(committed, stack["redis"].client(), email)


def reader(committed, reader_id: int) -> tuple[str, datetime | None]:
    """The reader's (status, confirmation_sent_at) as committed. The read transaction ends at
    once: on SQLite an open one holds the write lock the worker needs."""
    try:
        row = committed.execute(
            select(Subscriber.status, Subscriber.confirmation_sent_at).where(
                Subscriber.id == reader_id
            )
        ).one()
        return row[0].value, row[1]
    finally:
        committed.rollback()


def wait_until(check, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    return result


@pytest.fixture
def quick_retries(celery_worker):
    celery_worker.restart(RETRY_DELAYS="1,1,1")
    yield celery_worker
    celery_worker.restart()


def test_an_address_the_relay_says_does_not_exist_bounces_the_reader(
    signup, committed, smtp, celery_worker
):
    smtp.rcpt_rule = lambda rcpt: "550 5.1.1 no such user" if rcpt.startswith("ghost") else None
    ghost = signup("ghost@example.org")
    wait_until(lambda: reader(committed, ghost)[0] == "bounced")
    assert reader(committed, ghost) == ("bounced", None), "not marked as sent"
    assert smtp.to("ghost@example.org") == []


def test_a_policy_refusal_is_final_but_keeps_the_reader_pending(
    signup, committed, smtp, quick_retries
):
    smtp.rcpt_rule = lambda rcpt: "554 5.7.1 rejected for policy reasons"
    refused = signup("policy@example.org")
    time.sleep(3)  # three retry delays: a temporary failure would have been tried again
    smtp.rcpt_rule = None
    later = signup("later@example.org")
    wait_until(lambda: smtp.to("later@example.org"))
    assert reader(committed, refused) == ("pending", None)
    assert smtp.to("policy@example.org") == [], "not retried after a permanent refusal"
    assert reader(committed, later)[1] is not None


def test_a_temporary_refusal_is_retried_until_it_goes_through(
    signup, committed, smtp, quick_retries
):
    tries: list[str] = []

    def busy_twice(rcpt: str) -> str | None:
        tries.append(rcpt)
        return "451 4.3.0 try again later" if len(tries) <= 2 else None

    smtp.rcpt_rule = busy_twice
    reader_id = signup("patient@example.org")
    (received,) = wait_until(lambda: smtp.to("patient@example.org"))
    assert len(tries) == 3, "refused twice, accepted the third time"
    wait_until(lambda: reader(committed, reader_id)[1] is not None)
    assert b"/confirm/" in received.data


def test_a_burst_of_signups_is_mailed_once_each_over_few_connections(signup, committed, smtp):
    readers = [signup(f"burst{n}@example.org") for n in range(60)]
    smtp.wait_for(60, timeout=30)
    time.sleep(1)  # a second copy of anyone would arrive about now
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == sorted(
        f"burst{n}@example.org" for n in range(60)
    )
    sessions = {m.peer for m in smtp.messages}
    assert len(sessions) < 20, f"{len(sessions)} connections for 60 confirmations"
    wait_until(lambda: all(reader(committed, r)[1] is not None for r in readers))
    statuses = committed.scalars(select(OutboxMessage.status)).all()
    committed.rollback()
    assert statuses == ["sent"] * 60


def test_a_process_asks_for_a_sweep_once_per_moment(stack, monkeypatch):
    """After an ask that enqueued a sweep, the same process skips Redis for ASK_AGAIN_AFTER
    (that sweep has not started: it will see the rows); then it asks again."""
    client = stack["redis"].client()
    client.delete(tasks.WAKE_KEY)
    tasks.forget_asking()
    assert wake_sweep(client)
    client.delete(tasks.WAKE_KEY)  # as the sweep does when it starts
    assert not wake_sweep(client)
    assert client.get(tasks.WAKE_KEY) is None, "the second ask went to Redis"
    monkeypatch.setattr(tasks, "_asked_at", time.monotonic() - tasks.ASK_AGAIN_AFTER)
    assert wake_sweep(client)
    assert client.get(tasks.WAKE_KEY) is not None
    client.delete(tasks.WAKE_KEY)


def test_readers_imported_as_pending_get_their_confirmation(committed, stack, smtp, celery_worker):
    raw = io.BytesIO(b"email\npat@example.org\nsam@example.org\n")
    import_subscribers(committed, raw, "list.csv", status="pending")
    committed.commit()
    wake_sweep(stack["redis"].client())  # as the tick does within TICK_SECONDS
    received = smtp.wait_for(2)
    assert sorted(r for m in received for r in m.rcpt_tos) == ["pat@example.org", "sam@example.org"]
    assert all("/confirm/" in m.data.decode() for m in received)
