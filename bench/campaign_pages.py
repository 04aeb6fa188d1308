"""Campaign pages benchmark: how fast the admin's campaign pages answer while a
1,000,000-reader campaign sends.

In a fresh PostgreSQL database (the real migrations; dropped afterwards), readers are loaded
with COPY and a campaign is started and planned as `start_campaign` does it (in parts, then
its counts kept); a third of its deliveries are then marked sent, as mid-send. Signed in as an
editor through Flask's test client, the campaign's page, its progress poll (every 1.5 s while
a send runs), the campaign list and the home page are each fetched many times, and p50/p95/max
printed. The baseline, in the same database: counting the campaign's deliveries by status on
each request, which is what those pages did before (`delivery_counts(..., live=True)`). Also
timed: one count-and-keep, the work the tick does per large sending campaign and tick.
The issue's target: under 100 ms per page at 1,000,000 readers.

The live parts: about 5% of the deliveries are failed or bounced with relay
replies, and an hour of the tick's samples (one every 5 s) is loaded; timed are the tick's
sampling (which groups the failures again, as they changed), grouping the failures alone,
and the deliveries lists the page links to (failures, one domain, one reply class).

Engagement (opens and clicks): 30% of the deliveries opened (a tenth of them twice,
a seventh of the hits machines'), 5% clicked one of four links, 0.2% unsubscribed from
everything and 0.05% complained through the campaign, and every reader is in one newsletter,
0.1% of them having left it (only it) through the campaign's link, which the unsubscribes'
UNION over `memberships.left_through` counts: about 450,000 engagement rows and 1,000,000
memberships at 1,000,000 readers, so the
page's timing includes its "Opens and clicks" section; the deliveries lists of the readers who
unsubscribed and complained are timed too. The hits are written straight into `engagements`
(INSERT ... SELECT) and the campaign's `engagement_reports.hits` moved by their number, as the
drain's `record_hits` does in each batch's transaction; then the tick's count-and-keep of the
campaign's engagement (`recount_engagement`) is timed, so the pages read the kept figures; the
baseline counts them at each ask, as the page did before (`count_figures`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta

from _admin import signed_in_client
from sqlalchemy import insert, text, update
from sqlalchemy.orm import Session

from _readers import load_readers
from _stack import Database, code_line, machine_line, stop_on_signals
from send import ARTICLE

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
PASSWORD = "bench-pages-password"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--readers", type=int, default=1_000_000, help="active readers")
    parser.add_argument("--repeat", type=int, default=30, help="fetches of each page")
    parser.add_argument("--database-url", default=DEFAULT_SERVER, help="PostgreSQL server")
    return parser.parse_args()


def timed(label: str, call: Callable[[], object], repeat: int) -> None:
    call()  # warm: templates compiled, statements cached
    took = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        took.append(1000 * (time.perf_counter() - started))
    took.sort()
    p95 = took[max(0, round(0.95 * len(took)) - 1)]
    print(
        f"  {label:<34} p50 {statistics.median(took):7.1f} ms   p95 {p95:7.1f} ms   "
        f"max {took[-1]:7.1f} ms"
    )


def fail_mid_send(session: Session, campaign_id: int) -> None:
    """About 5% of the deliveries failed or bounced, with the replies relays give."""
    from broadsheet.models import Delivery, DeliveryStatus

    for remainder, status, reply in [
        (1, DeliveryStatus.FAILED, "550 5.7.1 <x@example.net>: message refused as spam"),
        (2, DeliveryStatus.BOUNCED, "550 5.1.1 <x@example.net>: no such user"),
        (3, DeliveryStatus.FAILED, "554 transaction failed"),
    ]:  # ids % 60 in 1..3: 3 in 60, 5%
        session.execute(
            update(Delivery)
            .where(Delivery.campaign_id == campaign_id, Delivery.id % 60 == remainder)
            .values(status=status, relay_reply=reply)
        )


def add_samples(session: Session, campaign_id: int) -> None:
    """An hour of the tick's samples of the campaign, one every 5 s, as if sent steadily."""
    from broadsheet.models import Campaign, CampaignSample, utcnow

    start = utcnow() - timedelta(hours=1)
    session.execute(update(Campaign).where(Campaign.id == campaign_id).values(started_at=start))
    rows = [
        {"campaign_id": campaign_id, "at": start + timedelta(seconds=5 * (i + 1)),
         "sent": 460 * i, "failed": 12 * i, "bounced": 0, "unknown": 0,
         "queued": 1_000_000 - 472 * i, "sending": 5}
        for i in range(720)
    ]  # fmt: skip
    session.execute(insert(CampaignSample), rows)


# Hits made from the deliveries themselves, in the database (INSERT ... SELECT): opens by
# id % 10 < 3 (and a second by id % 10 == 0), clicks by id % 20 == 1 on link id % 4, spread
# over the hour since the start; unsubscribes and complaints by id % 500 and id % 2000.
ENGAGEMENT_SQL = [
    """INSERT INTO engagements (campaign_id, delivery_id, subscriber_id, kind, link_index,
       human, reason, at)
       SELECT campaign_id, id, subscriber_id, :kind, {link}, id % 7 <> 0, 'bench',
              now() - (id % 3600) * interval '1 second'
       FROM deliveries WHERE campaign_id = :campaign AND {which}""",
    """INSERT INTO subscriber_events (subscriber_id, at, from_status, to_status, source,
       campaign_id)
       SELECT subscriber_id, now(), 'active', :status, :source, campaign_id
       FROM deliveries WHERE campaign_id = :campaign AND id % :every = :remainder""",
    """INSERT INTO memberships (subscriber_id, newsletter_id, status, created_at, changed_at,
       left_through)
       SELECT subscriber_id, :newsletter,
              CASE WHEN id % 1000 = 3 THEN 'unsubscribed' ELSE 'subscribed' END, now(), now(),
              CASE WHEN id % 1000 = 3 THEN campaign_id END
       FROM deliveries WHERE campaign_id = :campaign""",
]
# How the tick asked whether a send had moved before it asked the index two questions.
STALL_BEFORE = """SELECT campaigns.id FROM campaigns WHERE campaigns.status = 'sending' AND EXISTS
(SELECT 1 FROM deliveries WHERE deliveries.campaign_id = campaigns.id
 AND (deliveries.sent_at >= :since OR deliveries.status = 'sending'))"""
LINKS = [f"https://example.org/{path}" for path in ("one", "two", "three", "four")]


def add_engagement(session: Session, campaign_id: int) -> int:
    """Opens, clicks, unsubscribes and complaints of the campaign, and its readers'
    memberships (some left through it); returns the hits added."""
    from broadsheet.db import rowcount
    from broadsheet.models import Campaign, EngagementReport
    from broadsheet.services.newsletters import create_newsletter

    hits, events, memberships = ENGAGEMENT_SQL
    session.execute(update(Campaign).where(Campaign.id == campaign_id).values(tracking_links=LINKS))
    added = 0
    for kind, link, which in [
        ("open", "NULL", "id % 10 < 3"),
        ("open", "NULL", "id % 10 = 0"),
        ("click", "id % 4", "id % 20 = 1"),
    ]:
        query = text(hits.format(link=link, which=which))
        added += rowcount(session.execute(query, {"kind": kind, "campaign": campaign_id}))
    for status, source, every, remainder in [
        ("unsubscribed", "one-click", 500, 7),
        ("complained", "complaint", 2000, 9),
    ]:
        session.execute(
            text(events),
            {"status": status, "source": source, "campaign": campaign_id, "every": every,
             "remainder": remainder},
        )  # fmt: skip
    newsletter = create_newsletter(session, "The Bench Weekly", "bench-weekly")
    session.execute(text(memberships), {"newsletter": newsletter.id, "campaign": campaign_id})
    session.execute(
        insert(EngagementReport).values(campaign_id=campaign_id, hits=added)
    )  # what record_hits adds with each batch, all at once
    # No ANALYZE: the pages are timed as a new install meets them, right after the data came.
    return added


def main() -> int:
    args = parse_args()
    stop_on_signals()
    print("== Broadsheet campaign pages benchmark ==")
    print(machine_line())
    print(code_line())
    database = Database(None, args.database_url)
    database.create()
    os.environ.update(DATABASE_URL=database.url, SECRET_KEY="b" * 40)
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
    # Imported once the environment names the database: the app reads its settings from it.
    from broadsheet.db import make_engine, make_session_factory
    from broadsheet.models import Delivery, DeliveryStatus, utcnow
    from broadsheet.services import articles, campaigns, failures, ledger, progress, samples
    from broadsheet.services.engagement import count_left
    from broadsheet.services.engagement_report import count_figures, recount_engagement
    from broadsheet.services.users import create_user

    engine = make_engine(database.url)
    try:
        sessions = make_session_factory(engine)
        load_readers(engine, args.readers)
        with sessions.begin() as session:
            article = articles.create_article(session, **ARTICLE)
            campaign_id = campaigns.create_campaign(session, article.id).id
            campaigns.start_send(session, campaign_id)
        ledger.plan_in_parts(sessions, campaign_id, ledger.PLAN_PARTS_POSTGRESQL)
        with sessions.begin() as session:
            session.execute(
                update(Delivery)
                .where(Delivery.campaign_id == campaign_id, Delivery.id % 3 == 0)
                .values(status=DeliveryStatus.SENT)
            )
            fail_mid_send(session, campaign_id)
        started = time.perf_counter()
        with sessions.begin() as session:
            progress.keep(session, [campaign_id])
        keep_ms = 1000 * (time.perf_counter() - started)
        with sessions.begin() as session:
            add_samples(session, campaign_id)
        started = time.perf_counter()
        with sessions.begin() as session:
            samples.take_samples(session, utcnow())
        sample_ms = 1000 * (time.perf_counter() - started)
        with sessions.begin() as session:
            hits = add_engagement(session, campaign_id)
        started = time.perf_counter()
        with sessions.begin() as session:
            kept = recount_engagement(session, utcnow()) == [campaign_id]
        engagement_ms = 1000 * (time.perf_counter() - started)
        # The tick's look for stalled sends, as if nothing had moved for the stall time: the
        # campaign is read to the end of that question (held rows? last row sent when? rows
        # due?), its worst case, each tick while a send is under way.
        started = time.perf_counter()
        with sessions.begin() as session:
            stalled = ledger.campaigns_needing_work(session, utcnow() + timedelta(minutes=5))
        stall_ms = 1000 * (time.perf_counter() - started)
        started = time.perf_counter()
        with sessions.begin() as session:  # baseline: the question as one exists over the rows
            session.execute(text(STALL_BEFORE), {"since": utcnow() + timedelta(minutes=5)}).all()
        stall_before_ms = 1000 * (time.perf_counter() - started)
        with sessions.begin() as session:
            create_user(session, "editor@example.org", PASSWORD, "editor")
        client = signed_in_client("editor@example.org", PASSWORD)
        print(f"config: {args.readers:,} readers, one sending campaign, {args.repeat} fetches each")
        print(f"engagement: {hits:,} opens and clicks recorded")
        with sessions.begin() as session:
            lost = count_left(session, [campaign_id])[campaign_id]
        print(
            f"readers lost: {lost['unsubscribed']:,} unsubscribed (from everything, or from its "
            f"newsletter by memberships.left_through), {lost['complained']:,} complained"
        )
        print(f"count and keep (the tick, per large sending campaign): {keep_ms:.0f} ms")
        print(f"sample, failures changed (the tick, per sending campaign): {sample_ms:.0f} ms")
        print(
            f"stalled sends looked for (the tick, every sending campaign): {stall_ms:.1f} ms, "
            f"found {stalled['queued']} stalled; baseline, one exists over 'sent since, or "
            f"held': {stall_before_ms:.1f} ms"
        )
        print(
            "engagement counted and kept (the tick, per campaign with many and new hits, at "
            f"most every 15 s): {engagement_ms:.0f} ms"
            + ("" if kept else " (too few hits to keep: the pages count at each ask)")
        )

        def fetch(url: str) -> Callable[[], object]:
            def get() -> None:
                answer = client.get(url)
                assert answer.status_code == 200, (url, answer.status_code)

            return get

        listed = f"/admin/campaigns/{campaign_id}/deliveries?status="
        deliveries = f"{listed}failures"
        with sessions() as session:
            domain = failures.group(session, campaign_id)["domains"]["top"][0]["name"]
        print("pages, the counts kept on the campaign:")
        for label, url in [
            ("campaign page", f"/admin/campaigns/{campaign_id}"),
            ("progress poll", f"/admin/campaigns/{campaign_id}/progress"),
            ("deliveries: failures", f"/admin/campaigns/{campaign_id}/deliveries?status=failures"),
            ("deliveries: one domain", f"{deliveries}&domain={domain}"),
            ("deliveries: one reply class", f"{deliveries}&reply=550+5.1.1"),
            (
                "deliveries: unsubscribed",
                f"/admin/campaigns/{campaign_id}/deliveries?status=unsubscribed",
            ),
            (
                "deliveries: complained",
                f"/admin/campaigns/{campaign_id}/deliveries?status=complained",
            ),
            ("campaign list", "/admin/campaigns"),
            ("home", "/admin/"),
        ]:
            timed(label, fetch(url), args.repeat)

        def live_count() -> None:
            with sessions() as session:
                campaigns.delivery_counts(session, campaign_id, live=True)

        def group() -> None:
            with sessions() as session:
                failures.group(session, campaign_id)

        def engagement_now() -> None:
            with sessions() as session:
                count_figures(session, campaign_id, LINKS)

        print("failures grouped at an ask (a small campaign's way; a large one's are kept):")
        timed("failures.group", group, max(5, args.repeat // 3))
        print("baseline, counted at each request (what each of those pages did before):")
        timed("delivery_counts(live=True)", live_count, max(5, args.repeat // 3))
        timed("engagement counted (count_figures)", engagement_now, max(5, args.repeat // 3))
    finally:
        engine.dispose()
        database.drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
