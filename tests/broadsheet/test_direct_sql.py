"""Statements run on the driver's cursor (broadsheet/direct_sql.py), on the real database:
they store what the ORM would, and fail as SQLAlchemy's errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import bindparam, exc, insert, select, text, update

from broadsheet.direct_sql import DirectStatement
from broadsheet.models import Delivery, DeliveryStatus, Subscriber, utcnow
from broadsheet.services import claims
from tests.support.factories import planned_campaign

LATER = utcnow() + timedelta(hours=1)  # "now" once every lease taken in a test has run out

LEASE = timedelta(minutes=5)


def test_the_hot_path_stores_what_the_orm_stores(db):
    campaign_id, ids = planned_campaign(db, 4)
    claims.claim(db, campaign_id, ids[0], ids[-1], "task-a", LEASE)
    hot, orm = db.connection(), db  # the driver's cursor directly, and the ORM session
    assert claims.finish_and_begin(
        hot, "task-a", ids[0], DeliveryStatus.SENT, ids[1], reply="250 ok", message_id="<a@x>"
    )
    assert claims.finish_and_begin(
        orm, "task-a", ids[1], DeliveryStatus.SENT, ids[2], reply="250 ok", message_id="<b@x>"
    )
    db.expire_all()
    rows = {d.id: d for d in db.scalars(select(Delivery))}
    first, second, third = (rows[i] for i in ids[:3])
    for row in (first, second):
        assert (row.status, row.relay_reply, row.claimed_by) == ("sent", "250 ok", None)
        assert row.sent_at is not None and row.sent_at.utcoffset() == timedelta(0)
    assert (first.message_id, second.message_id) == ("<a@x>", "<b@x>")
    assert third.attempted_at is not None and third.attempts == 1
    stored = db.execute(text("SELECT status FROM deliveries ORDER BY id")).scalars().all()
    assert stored == ["sent", "sent", "sending", "sending"], "the value, as the ORM writes it"
    # The next row is no longer ours once the claim is gone: the sender must stop.
    assert claims.recover(db, "task-a", LATER).unknown == 1
    assert not claims.finish_and_begin(hot, "task-a", ids[2], DeliveryStatus.SENT, ids[3])


def test_a_driver_error_is_raised_as_sqlalchemys(db):
    _, ids = planned_campaign(db, 1)
    point_at = DirectStatement(
        update(Delivery.__table__)
        .where(Delivery.__table__.c.id == bindparam("row"))
        .values(subscriber_id=bindparam("reader"))
    )
    savepoint = db.begin_nested()
    with pytest.raises(exc.IntegrityError):  # no such reader: the foreign key refuses it
        point_at.rows(db.connection(), {"row": ids[0], "reader": 10_000_000})
    savepoint.rollback()
    assert db.scalar(select(Delivery.subscriber_id)) is not None


def test_a_statement_needing_python_defaults_is_refused(db):
    statement = DirectStatement(insert(Subscriber.__table__).values(email=bindparam("email")))
    with pytest.raises(ValueError, match="column defaults"):
        statement.rows(db.connection(), {"email": "a@example.org"})
