"""The outbox queue on the real database: one waiting confirmation per reader, claims that
two sweeps never share, and how a dead sweep's rows are settled (the one in flight
`unknown`, the rest pending again)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from broadsheet.models import OutboxMessage, OutboxStatus, Subscriber, utcnow
from broadsheet.services import outbox_queue
from broadsheet.services.subscriptions import confirm, request_subscription

LEASE = timedelta(minutes=5)
LATER = utcnow() + timedelta(hours=1)  # "now" once every lease taken in a test has run out


def signups(db, count: int) -> list[int]:
    ids = []
    for n in range(count):
        reader = request_subscription(db, f"r{n}@example.org").subscriber_id
        assert outbox_queue.queue_confirmation(db, reader)
        ids.append(reader)
    return ids


def rows(db) -> list[tuple[int, str, int]]:
    """(subscriber, status, attempts) of every outbox row, oldest first."""
    db.expire_all()
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    return [(m.subscriber_id, m.status.value, m.attempts) for m in db.scalars(query)]


def test_a_reader_has_at_most_one_confirmation_waiting(db):
    (reader,) = signups(db, 1)
    assert not outbox_queue.queue_confirmation(db, reader), "a second signup owes no second mail"
    held = outbox_queue.claim(db, "sweep-a", LEASE, 10)
    assert not outbox_queue.queue_confirmation(db, reader), "nor while the first is being sent"
    outbox_queue.finish_and_begin(db, "sweep-a", None, None, held[0].row_id)
    outbox_queue.finish_and_begin(db, "sweep-a", held[0], OutboxStatus.SENT, None, reply="250")
    assert outbox_queue.queue_confirmation(db, reader), "once it was sent, a resend may be owed"
    assert rows(db) == [(reader, "sent", 1), (reader, "pending", 0)]


def test_a_claim_takes_due_rows_oldest_first_and_only_once(db):
    readers = signups(db, 5)
    first = outbox_queue.claim(db, "sweep-a", LEASE, 3)
    assert [h.subscriber.id for h in first] == readers[:3]
    second = outbox_queue.claim(db, "sweep-b", LEASE, 10)
    assert [h.subscriber.id for h in second] == readers[3:]
    assert outbox_queue.claim(db, "sweep-c", LEASE, 10) == []


def test_a_reader_who_confirmed_meanwhile_is_not_mailed(db):
    readers = signups(db, 2)
    reader = db.get(Subscriber, readers[0])
    confirm(db, reader.id, reader.email_key)
    held = outbox_queue.claim(db, "sweep-a", LEASE, 10)
    assert [h.subscriber.id for h in held] == [readers[1]]
    assert rows(db)[0] == (readers[0], "failed", 0)


def test_a_sent_confirmation_is_stamped_on_the_reader(db):
    (reader,) = signups(db, 1)
    (held,) = outbox_queue.claim(db, "sweep-a", LEASE, 10)
    assert outbox_queue.finish_and_begin(db, "sweep-a", None, None, held.row_id)
    assert outbox_queue.finish_and_begin(db, "sweep-a", held, OutboxStatus.SENT, None, reply="250")
    db.expire_all()
    assert db.get(Subscriber, reader).confirmation_sent_at is not None
    message = db.scalar(select(OutboxMessage))
    assert (message.relay_reply, message.claimed_by, message.sent_at is not None) == (
        "250", None, True,
    )  # fmt: skip


def test_recover_marks_only_the_in_flight_row_unknown(db):
    readers = signups(db, 4)
    held = outbox_queue.claim(db, "sweep-a", LEASE, 10)
    outbox_queue.finish_and_begin(db, "sweep-a", None, None, held[0].row_id)
    outbox_queue.finish_and_begin(db, "sweep-a", held[0], OutboxStatus.SENT, held[1].row_id)
    # the worker dies while sending the second row
    assert outbox_queue.recover(db) == outbox_queue.Recovered(0, 0), "its lease still runs"
    assert outbox_queue.recover(db, LATER) == outbox_queue.Recovered(1, 2)
    assert rows(db) == [
        (readers[0], "sent", 1), (readers[1], "unknown", 1),
        (readers[2], "pending", 0), (readers[3], "pending", 0),
    ]  # fmt: skip
    stale = outbox_queue.finish_and_begin(db, "sweep-a", held[1], OutboxStatus.SENT, held[2].row_id)
    assert not stale, "a settled claim can neither record nor begin"
    assert rows(db)[1][1] == "unknown"


def test_a_temporary_failure_is_retried_after_its_delay_then_given_up(db):
    signups(db, 1)
    delays = (60,)
    for expected in ("pending", "failed"):
        (held,) = outbox_queue.claim(db, "sweep", LEASE, 10)
        outbox_queue.finish_and_begin(db, "sweep", None, None, held.row_id)
        due = outbox_queue.defer(db, "sweep", [held.row_id], "451 busy", delays).retry_at
        assert rows(db)[0][1] == expected
        if expected == "pending":
            assert due is not None and due > utcnow() + timedelta(seconds=50)
            assert outbox_queue.claim(db, "early", LEASE, 10) == [], "not due before its delay"
            db.get(OutboxMessage, held.row_id).due_at = utcnow()
            db.flush()
    message = db.scalar(select(OutboxMessage))
    assert message.attempts == 2 and "451 busy" in message.last_error


def test_a_row_put_off_for_its_domain_keeps_its_attempts(db):
    signups(db, 1)
    (held,) = outbox_queue.claim(db, "sweep", LEASE, 10)
    outbox_queue.finish_and_begin(db, "sweep", None, None, held.row_id)
    outbox_queue.postpone(db, "sweep", [held.row_id], utcnow() + timedelta(seconds=30))
    assert rows(db)[0][1:] == ("pending", 0)
    due = outbox_queue.next_due(db)
    assert due is not None and due > utcnow()


def test_renewal_keeps_a_live_sweep_and_says_when_it_holds_nothing(db):
    signups(db, 1)
    (held,) = outbox_queue.claim(db, "sweep", LEASE, 10)
    assert outbox_queue.renew(db, "sweep", LATER + LEASE)
    assert outbox_queue.recover(db, LATER) == outbox_queue.Recovered(0, 0), "renewed: not expired"
    outbox_queue.finish_and_begin(db, "sweep", None, None, held.row_id)
    outbox_queue.finish_and_begin(db, "sweep", held, OutboxStatus.SENT, None)
    assert not outbox_queue.renew(db, "sweep", LATER)
