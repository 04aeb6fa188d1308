"""Overview benchmark: how fast the admin's overview and reports pages answer with 1,000,000
readers and a few million changes in their history.

In a fresh PostgreSQL database (the real migrations; dropped afterwards), readers are loaded
with COPY, then `--events-per-reader` changes of status each, spread over the last year
(signups, confirmations, unsubscribes, bounces, complaints), and one bounce or complaint report
per hundred readers; then VACUUM ANALYZE. Timed, p50/p95/max: the day-by-day figures alone
(`daily_growth`) for 7, 30 and 90 days in UTC and in Asia/Kolkata (half-hour slots), and,
signed in through Flask's test client, the overview at each period and the reports page
(all kinds, one kind, a page further down). The issue's target: under 100 ms per page.
"""

from __future__ import annotations

import argparse
import os
import sys
from functools import partial
from zoneinfo import ZoneInfo

import psycopg
from _admin import signed_in_client
from campaign_pages import timed
from sqlalchemy import make_url

from _readers import load_readers
from _stack import Database, code_line, machine_line, stop_on_signals

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
PASSWORD = "bench-overview-password"
# Each change of status: (from, to) picked at random, weighted as a newsletter sees them.
EVENTS = """
INSERT INTO subscriber_events (subscriber_id, at, from_status, to_status, source)
SELECT s.id, now() - random() * interval '365 days', c.from_status, c.to_status, 'api'
FROM subscribers s
CROSS JOIN generate_series(1, %(per)s) AS g
CROSS JOIN LATERAL (
  SELECT (ARRAY[NULL, 'pending', 'active', 'active', 'pending', 'active'])[k] AS from_status,
         (ARRAY['pending', 'active', 'unsubscribed', 'bounced', 'bounced', 'complained'])[k]
           AS to_status
  FROM (SELECT 1 + floor(random() * 6)::int + 0 * g + 0 * s.id AS k) AS pick
) AS c
"""
REPORTS = """
INSERT INTO bounce_reports (fingerprint, source, kind, subscriber_id, recipient, diagnostic,
                            received_at)
SELECT md5(s.id::text), 'mailbox',
       (ARRAY['hard', 'soft', 'policy', 'complaint'])[1 + s.id % 4],
       s.id, s.email, '550 5.1.1 user unknown', now() - random() * interval '365 days'
FROM subscribers s WHERE s.id % 100 = 0
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--readers", type=int, default=1_000_000, help="readers")
    parser.add_argument("--events-per-reader", type=int, default=3, help="changes each")
    parser.add_argument("--repeat", type=int, default=20, help="fetches of each page")
    parser.add_argument("--database-url", default=DEFAULT_SERVER, help="PostgreSQL server")
    return parser.parse_args()


def fill(database_url: str, per_reader: int) -> None:
    """The readers' history and the reports, in SQL on the server, then fresh statistics."""
    url = make_url(database_url).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(EVENTS, {"per": per_reader})
        conn.execute(REPORTS)
        conn.execute("VACUUM ANALYZE subscriber_events")
        conn.execute("VACUUM ANALYZE bounce_reports")


def main() -> int:
    args = parse_args()
    stop_on_signals()
    print("== Broadsheet overview benchmark ==")
    print(machine_line())
    print(code_line())
    database = Database(None, args.database_url)
    database.create()
    os.environ.update(DATABASE_URL=database.url, SECRET_KEY="b" * 40)
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
    # Imported once the environment names the database: the app reads its settings from it.
    from broadsheet.db import make_engine, make_session_factory
    from broadsheet.services.growth import PERIODS, daily_growth
    from broadsheet.services.users import create_user

    engine = make_engine(database.url)
    try:
        sessions = make_session_factory(engine)
        load_readers(engine, args.readers)
        fill(database.url, args.events_per_reader)
        with sessions.begin() as session:
            create_user(session, "operator@example.org", PASSWORD, "operator")
        events = args.readers * args.events_per_reader
        print(f"config: {args.readers:,} readers, {events:,} changes over a year, "
              f"{args.readers // 100:,} reports, {args.repeat} fetches each")  # fmt: skip

        print("day-by-day figures alone (one query each):")
        for zone in ("UTC", "Asia/Kolkata"):
            for days in PERIODS:

                def growth(days: int = days, zone: str = zone) -> None:
                    with sessions() as session:
                        daily_growth(session, days, ZoneInfo(zone))

                timed(f"daily_growth {days} days, {zone}", growth, args.repeat)

        client = signed_in_client("operator@example.org", PASSWORD)

        def fetch(url: str) -> None:
            answer = client.get(url)
            assert answer.status_code == 200, (url, answer.status_code)

        print("pages:")
        for label, url in [
            ("overview, 7 days", "/admin/?period=7"),
            ("overview, 30 days", "/admin/"),
            ("overview, 90 days", "/admin/?period=90"),
            ("reports, all kinds", "/admin/reports"),
            ("reports, complaints", "/admin/reports?kind=complaint"),
            ("reports, a page further down", f"/admin/reports?before={args.readers // 200}"),
        ]:
            timed(label, partial(fetch, url), args.repeat)
    finally:
        engine.dispose()
        database.drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
