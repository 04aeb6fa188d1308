"""`import_subscribers` on the database: the editor's trial, suppression kept, duplicates
skipped or (with update) renamed, memberships and history written, rejects re-importable."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import delete, func, select

from broadsheet.errors import ValidationError
from broadsheet.imports import import_subscribers
from broadsheet.imports.reading import REJECT_COLUMNS
from broadsheet.models import (
    EventSource,
    Membership,
    OutboxKind,
    OutboxMessage,
    Subscriber,
    SubscriberEvent,
    SubscriberStatus,
    SubscriberTag,
)
from broadsheet.services import erasure, newsletters, subscriptions
from tests.broadsheet.imports.exports import MAILCHIMP, csv_bytes, editors_trial

SECRET = "an import's secret, long enough to key hashes"


def counts(summary) -> dict[str, int]:
    return {k: getattr(summary, k) for k in
            ("imported", "updated", "skipped", "suppressed", "rejected")}  # fmt: skip


def status_of(db, email: str) -> tuple[SubscriberStatus, str]:
    row = db.execute(
        select(Subscriber.status, Subscriber.name).where(Subscriber.email_key == email)
    ).one()
    return row.status, row.name


def test_the_editors_trial(db):
    raw, bad_lines = editors_trial()
    rejects = io.StringIO()
    weekly = newsletters.create_newsletter(db, "Weekly")
    summary = import_subscribers(
        db, raw, "members.csv", newsletter_slugs=["weekly"], rejects=rejects, batch_size=300
    )
    assert counts(summary) == {
        "imported": 1000, "updated": 0, "skipped": 20, "suppressed": 30, "rejected": 50
    }  # fmt: skip
    assert summary.mapping.source == "Mailchimp"
    by_status = dict(
        db.execute(select(Subscriber.status, func.count()).group_by(Subscriber.status)).all()
    )
    assert by_status == {SubscriberStatus.ACTIVE: 1000, SubscriberStatus.UNSUBSCRIBED: 30}
    assert status_of(db, "reader0@example.org") == (SubscriberStatus.ACTIVE, "Reader 0")
    members = select(func.count()).where(Membership.newsletter_id == weekly.id)
    assert db.scalar(members) == 1000  # the readers who get mail, not those who left
    events = db.execute(
        select(SubscriberEvent.source, SubscriberEvent.to_status, func.count()).group_by(
            SubscriberEvent.source, SubscriberEvent.to_status
        )
    ).all()
    assert sorted(events) == [
        (EventSource.IMPORT, SubscriberStatus.ACTIVE, 1000),
        (EventSource.IMPORT, SubscriberStatus.UNSUBSCRIBED, 30),
    ]
    rejected = list(csv.reader(io.StringIO(rejects.getvalue())))
    assert rejected[0] == [*MAILCHIMP, *REJECT_COLUMNS]
    assert [int(row[-2]) for row in rejected[1:]] == bad_lines
    assert all(row[-1].startswith("email: ") for row in rejected[1:])


def test_the_rejects_file_fixed_imports_again(db):
    raw, _ = editors_trial()
    rejects = io.StringIO()
    import_subscribers(db, raw, "members.csv", rejects=rejects)
    fixed = rejects.getvalue().replace("Broken,", "Mended,")
    lines = [
        [f"fixed{n}@example.org", *row[1:]] if n else row
        for n, row in enumerate(csv.reader(io.StringIO(fixed)))
    ]
    again = import_subscribers(db, csv_bytes(lines), "rejects.csv")
    assert counts(again) == {
        "imported": 50, "updated": 0, "skipped": 0, "suppressed": 0, "rejected": 0
    }  # fmt: skip
    assert [column for column, _ in again.mapping.ignored[-2:]] == REJECT_COLUMNS


@pytest.mark.parametrize("update", [False, True])
def test_a_reader_who_left_stays_out_with_or_without_update(db, update):
    for email, leave in (("left@example.org", "unsubscribed"), ("spam@example.org", "complained")):
        reader = subscriptions.create_subscriber(db, email, "Old", status="active")
        subscriptions.set_status(db, reader, SubscriberStatus(leave), source=EventSource.ADMIN)
    db.flush()
    raw = csv_bytes([["email", "name", "status"], ["Left@example.org", "New", "active"],
                     ["spam@example.org", "New", "enabled"]])  # fmt: skip
    summary = import_subscribers(db, raw, "list.csv", update=update)
    assert summary.imported == 0
    assert status_of(db, "left@example.org") == (
        SubscriberStatus.UNSUBSCRIBED,
        "New" if update else "Old",
    )
    assert status_of(db, "spam@example.org")[0] == SubscriberStatus.COMPLAINED
    assert (summary.updated, summary.skipped) == ((2, 0) if update else (0, 2))


def test_update_renames_only_where_the_file_gives_a_different_name(db):
    subscriptions.create_subscriber(db, "ann@example.org", "Ann", status="pending")
    subscriptions.create_subscriber(db, "bob@example.org", "Bob", status="active")
    raw = csv_bytes([["email", "name"], ["ann@example.org", "Ann Lee"], ["bob@example.org", "Bob"],
                     ["cy@example.org", ""]])  # fmt: skip
    summary = import_subscribers(db, raw, "list.csv", update=True)
    assert counts(summary) == {
        "imported": 1, "updated": 1, "skipped": 1, "suppressed": 0, "rejected": 0
    }  # fmt: skip
    assert status_of(db, "ann@example.org") == (SubscriberStatus.PENDING, "Ann Lee")


@pytest.mark.parametrize("batch_size", [1, 10])
def test_an_address_twice_in_the_file_is_one_reader_renamed_by_update(db, batch_size):
    lines = [["email", "name"], ["dee@example.org", "Dee"], ["DEE@example.org", "Dee Rowe"],
             ["dee@example.org", ""]]  # fmt: skip
    summary = import_subscribers(db, csv_bytes(lines), "list.csv", batch_size=batch_size)
    assert (summary.imported, summary.skipped) == (1, 2)
    assert status_of(db, "dee@example.org")[1] == "Dee"
    db.execute(delete(Subscriber))
    summary = import_subscribers(
        db, csv_bytes(lines), "list.csv", update=True, batch_size=batch_size
    )
    assert (summary.imported, summary.updated, summary.skipped) == (1, 1, 1)
    assert status_of(db, "dee@example.org") == (SubscriberStatus.ACTIVE, "Dee Rowe")


def test_pending_readers_and_the_default_newsletter(db):
    """Batches of one reader without a name, too (PostgreSQL gets no name at all for it).
    Each new pending reader is owed a confirmation; a reader already here is not."""
    default = newsletters.default_ids(db)
    here = subscriptions.create_subscriber(db, "p0@example.org", status="active")
    rows = [["email", "status"], ["p0@example.org", ""], ["p1@example.org", ""],
            ["p2@example.org", ""], ["gone@example.org", "unsubscribed"]]  # fmt: skip
    summary = import_subscribers(db, csv_bytes(rows), "list.csv", status="pending", batch_size=2)
    assert (summary.imported, summary.skipped, summary.suppressed) == (2, 1, 1)
    assert status_of(db, "p1@example.org")[0] == SubscriberStatus.PENDING
    joined = (
        select(func.count()).select_from(Membership).where(Membership.newsletter_id.in_(default))
    )
    assert db.scalar(joined) == 3 * len(default)  # p0 joined when added
    owed = db.scalars(
        select(Subscriber.email)
        .join(OutboxMessage, OutboxMessage.subscriber_id == Subscriber.id)
        .where(OutboxMessage.kind == OutboxKind.CONFIRMATION)
        .order_by(Subscriber.email)
    )
    assert list(owed) == ["p1@example.org", "p2@example.org"]
    assert here.status == SubscriberStatus.ACTIVE


def test_active_readers_are_owed_no_confirmation(db):
    import_subscribers(db, csv_bytes([["email"], ["a1@example.org"]]), "list.csv")
    assert db.scalar(select(func.count()).select_from(OutboxMessage)) == 0


@pytest.mark.parametrize(
    ("options", "field"),
    [({"status": "unsubscribed"}, "status"), ({"newsletter_slugs": ["nope"]}, "newsletter")],
)
def test_bad_options_name_their_field(db, options, field):
    with pytest.raises(ValidationError) as caught:
        import_subscribers(db, csv_bytes([["email"]]), "list.csv", **options)
    assert list(caught.value.fields) == [field]


@pytest.mark.parametrize(("batch_size", "update"), [(1, False), (10, False), (10, True)])
def test_every_row_of_an_erased_address_is_refused_in_line_order(db, batch_size, update):
    """Whatever the batches, an erased address's rows are rejected (each on its line), a
    reader already here is skipped or updated, and the readers around them come in."""
    gone = subscriptions.create_subscriber(db, "gone@example.org", status="active")
    erasure.erase(db, gone.id, SECRET)
    subscriptions.create_subscriber(db, "here@example.org", "Here", status="active")
    lines = [["email", "name", "tags"], ["new1@example.org", "One", "a"],
             ["GONE@example.org", "Gone", "a"], ["here@example.org", "Still Here", "b"],
             ["gone@example.org", "", ""], ["new1@example.org", "Again", ""],
             ["new2@example.org", "Two", "c"]]  # fmt: skip
    rejects = io.StringIO()
    summary = import_subscribers(
        db, csv_bytes(lines), "list.csv", update=update, rejects=rejects, batch_size=batch_size,
        secret=SECRET,
    )  # fmt: skip
    assert counts(summary) == {
        "imported": 2, "updated": 2 if update else 0, "skipped": 0 if update else 2,
        "suppressed": 0, "rejected": 2,
    }  # fmt: skip
    refused = list(csv.DictReader(io.StringIO(rejects.getvalue())))
    assert [row["import_line"] for row in refused] == ["3", "5"]
    assert all("erased at the reader's request" in row["import_reason"] for row in refused)
    tags = db.execute(
        select(Subscriber.email_key, SubscriberTag.tag)
        .join(SubscriberTag, SubscriberTag.subscriber_id == Subscriber.id)
        .order_by(Subscriber.email_key)
    ).all()
    assert tags == [("here@example.org", "b")] * update + [
        ("new1@example.org", "a"), ("new2@example.org", "c")
    ]  # fmt: skip
    assert status_of(db, "new1@example.org")[1] == ("Again" if update else "One")


def test_a_batch_of_one_reader_with_nothing_but_an_address(db):
    """One reader a batch, no name, tags or attributes: on PostgreSQL each column is then a
    lone empty string, which its arrays read as no element at all."""
    lines = [["email", "name", "tags", "city"], ["bare@example.org", "", "", ""],
             ["full@example.org", "Full", "a, b", "Lyon"]]  # fmt: skip
    summary = import_subscribers(db, csv_bytes(lines), "list.csv", batch_size=1, secret=SECRET)
    assert (summary.imported, summary.rejected) == (2, 0)
    readers = db.execute(
        select(Subscriber.email_key, Subscriber.name, Subscriber.attributes).order_by(
            Subscriber.email_key
        )
    ).all()
    assert [tuple(r) for r in readers] == [
        ("bare@example.org", "", None), ("full@example.org", "Full", {"city": "Lyon"})
    ]  # fmt: skip
    tags = db.scalars(select(SubscriberTag.tag).order_by(SubscriberTag.tag))
    assert list(tags) == ["a", "b"]
