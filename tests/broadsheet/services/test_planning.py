"""Planning a campaign in parts (ledger.plan_in_parts, what start_campaign does on
PostgreSQL): every active reader gets one queued delivery whatever the number of parts, the
campaign is marked planned once all are in, and a re-run adds only what is missing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, func, select, update

from broadsheet.db import make_session_factory
from broadsheet.models import Campaign, Delivery, Subscriber, SubscriberStatus
from broadsheet.services.articles import create_article
from broadsheet.services.campaigns import create_campaign, start_send
from broadsheet.services.ledger import plan_deliveries, plan_in_parts
from tests.support.factories import add_readers


@pytest.fixture
def campaign_id(committed) -> int:
    article = create_article(committed, title="Parts", body_markdown="x")
    campaign = start_send(committed, create_campaign(committed, article.id).id)
    committed.commit()
    return campaign.id


def planned_readers(session, campaign_id: int) -> list[int]:
    try:
        query = select(Delivery.subscriber_id).where(Delivery.campaign_id == campaign_id)
        return sorted(session.scalars(query))
    finally:
        session.rollback()


@pytest.mark.parametrize("parts", [1, 2, 3, 7])
def test_every_active_reader_is_planned_once_in_any_number_of_parts(
    committed, engine, campaign_id, parts
):
    add_readers(committed, 20)
    committed.execute(  # two readers who are not active are left out
        update(Subscriber)
        .where(Subscriber.email.in_(["reader3@example.org", "reader11@example.org"]))
        .values(status=SubscriberStatus.PENDING)
    )
    committed.commit()
    active = sorted(committed.scalars(select(Subscriber.id).where(Subscriber.status == "active")))
    committed.rollback()  # on SQLite an open read holds the write lock planning needs
    assert plan_in_parts(make_session_factory(engine), campaign_id, parts) == 18
    assert planned_readers(committed, campaign_id) == active
    assert committed.get(Campaign, campaign_id).planned_at is not None


def test_a_re_run_adds_only_the_missing_rows(committed, engine, campaign_id):
    add_readers(committed, 10)
    sessions = make_session_factory(engine)
    assert plan_in_parts(sessions, campaign_id, 3) == 10
    # As if one part had failed: its rows are missing, the rest are planned.
    first = committed.scalar(select(func.min(Subscriber.id)))
    committed.execute(Delivery.__table__.delete().where(Delivery.subscriber_id < first + 4))
    committed.commit()
    assert plan_in_parts(sessions, campaign_id, 2) == 4
    readers = planned_readers(committed, campaign_id)
    assert len(readers) == len(set(readers)) == 10


def test_no_active_readers_plans_nothing_and_marks_it_planned(committed, engine, campaign_id):
    assert plan_in_parts(make_session_factory(engine), campaign_id, 2) == 0
    assert committed.get(Campaign, campaign_id).planned_at is not None


def test_planning_reads_no_deliveries_so_it_cannot_turn_quadratic(engine, committed, campaign_id):
    """The statement's plan touches only readers: a reader who has a row is skipped by the
    ledger's unique key (ON CONFLICT), not by an anti-join over the campaign's rows, which
    PostgreSQL ran as a nested loop (one scan per reader) while readers had no statistics."""
    sent: list[tuple[str, Any]] = []  # (statement, parameters)

    def keep(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO DELIVERIES"):
            sent.append((statement, parameters))

    campaign = committed.get_one(Campaign, campaign_id)
    event.listen(engine, "before_cursor_execute", keep)
    try:
        plan_deliveries(committed, campaign, (1, 1000))
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    [(statement, parameters)] = sent
    explain = "EXPLAIN " if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
    cursor = committed.connection().connection.driver_connection.cursor()
    cursor.execute(explain + statement, parameters)
    plan = "\n".join(str(row) for row in cursor.fetchall())
    committed.rollback()
    assert "subscribers" in plan
    assert "Join" not in plan and "deliveries_1" not in plan, plan
    if engine.dialect.name == "postgresql":
        assert "Conflict Resolution: NOTHING" in plan, plan
    else:
        assert "deliveries" not in plan, plan
