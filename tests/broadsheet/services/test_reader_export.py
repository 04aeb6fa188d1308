"""Readers exported as CSV (broadsheet.services.reader_export): filtered by status, by
newsletter and by segment, paged by id with their tags read once a page, and read back by the
import as they were, tags and attributes included."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import delete, event, select

from broadsheet.errors import ValidationError
from broadsheet.imports import import_subscribers
from broadsheet.models import EventSource, Subscriber, SubscriberStatus
from broadsheet.services import newsletters, profiles, reader_export, segments, subscriptions


@pytest.fixture
def readers(db):
    newsletters.create_newsletter(db, "Weekly")
    subscriptions.create_subscriber(db, "ann@example.org", "Ann", status="active",
                                    newsletters_chosen=["weekly"], tags=["donor", "city:lyon"],
                                    attributes={"plan": "paid", "n": 3, "ok": True})  # fmt: skip
    subscriptions.create_subscriber(db, "bob@example.org", "Bob", status="pending")
    left = subscriptions.create_subscriber(db, "cy@example.org", "Cy", status="active",
                                           newsletters_chosen=["weekly"])  # fmt: skip
    subscriptions.set_status(db, left, SubscriberStatus.UNSUBSCRIBED, source=EventSource.ADMIN)
    db.flush()


def exported(db, **options) -> list[dict[str, str]]:
    out = io.StringIO()
    count = reader_export.export_subscribers(db, out, **options)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert count == len(rows)
    return rows


def test_every_reader_oldest_first_a_page_at_a_time(db, readers, monkeypatch):
    monkeypatch.setattr(reader_export, "PAGE", 2)
    statements: list[str] = []
    engine = db.get_bind().engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        rows = exported(db)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert [(r["email"], r["name"], r["status"], r["tags"]) for r in rows] == [
        ("ann@example.org", "Ann", "active", "city:lyon,donor"),
        ("bob@example.org", "Bob", "pending", ""),
        ("cy@example.org", "Cy", "unsubscribed", ""),
    ]
    assert rows[0]["attributes"] == '{"plan": "paid", "n": 3, "ok": true}'
    assert len(statements) == 2 + 2 + 1  # two pages of readers and their tags, one empty


def test_filtered_by_segment_with_or_without_status(db, readers):
    segments.create_segment(db, "Weekly folk", {"newsletters": ["weekly"]})
    both = exported(db, segment="Weekly folk")
    assert [r["email"] for r in both] == ["ann@example.org", "cy@example.org"]
    active = exported(db, segment="Weekly folk", status="active")
    assert [r["email"] for r in active] == ["ann@example.org"]
    with pytest.raises(ValidationError) as caught:
        exported(db, segment="Nobody")
    assert list(caught.value.fields) == ["segment"]


def test_filtered_by_status_and_newsletter(db, readers):
    assert [r["email"] for r in exported(db, status="active")] == ["ann@example.org"]
    weekly = exported(db, newsletter_slugs=["weekly"])
    assert [r["email"] for r in weekly] == ["ann@example.org", "cy@example.org"]
    with pytest.raises(ValidationError) as caught:
        exported(db, status="gone")
    assert list(caught.value.fields) == ["status"]


def test_the_import_reads_an_export_back_as_it_was(db, readers):
    out = io.StringIO()
    reader_export.export_subscribers(db, out)
    db.execute(delete(Subscriber))
    summary = import_subscribers(db, io.BytesIO(out.getvalue().encode()), "export.csv")
    assert (summary.imported, summary.suppressed, summary.rejected) == (2, 1, 0)
    statuses = db.execute(select(Subscriber.email, Subscriber.status).order_by(Subscriber.id))
    assert [tuple(r) for r in statuses] == [
        ("ann@example.org", SubscriberStatus.ACTIVE),
        ("bob@example.org", SubscriberStatus.PENDING),
        ("cy@example.org", SubscriberStatus.UNSUBSCRIBED),
    ]
    assert summary.mapping.source == "Broadsheet" and summary.mapping.ignored == [
        ("created_at", "when the reader came: readers imported come now")
    ]
    ann = db.scalars(select(Subscriber).where(Subscriber.email_key == "ann@example.org")).one()
    assert ann.attributes == {"plan": "paid", "n": 3, "ok": True}
    assert profiles.tags_of(db, ann.id) == ["city:lyon", "donor"]
