"""The send loop's own decisions, in-process: a run that finds no connection place at any
relay claims nothing and says when to try again (Outcome.retry_by, as every retry time is)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from broadsheet.models import utcnow
from worker import connections, sending
from worker.connections import PLACE_RETRY
from worker.resources import Resources
from worker.sending import Connections, Ledger, Outcome


class Untouched:
    """A source the run must not touch: without a connection place, it claims nothing."""

    kind = "campaign"

    def claim(self, held: Connections, claim_key: str, outcome: Outcome) -> Ledger | None:
        raise AssertionError("claimed without a connection place")

    def again(self, ledger: Ledger) -> bool:
        raise AssertionError("claimed without a connection place")

    def renew(self, session: Session, claim_key: str, until: datetime) -> bool:
        raise AssertionError("claimed without a connection place")

    def next_due(self, session: Session) -> datetime | None:
        raise AssertionError("asked the ledger without a connection place")


def test_a_run_with_every_relay_connection_in_use_claims_nothing_and_comes_back_shortly(
    settings, monkeypatch
):
    relay = replace(settings.relays[0], connections=1)
    res = Resources(replace(settings, relays=(relay,)))
    monkeypatch.setattr(connections, "PLACE_WAIT", 0.0)  # no wait for a place to free
    try:
        assert res.throttle.acquire_connection(relay, "another run", lease=30)
        before = utcnow()
        outcome = sending.run(res, "this run", Untouched())
        after = utcnow()
    finally:
        res.throttle.release_connection(relay, "another run")
        res.close()
    assert outcome.error == "every relay connection is in use"
    assert outcome.counts() == {"sent": 0, "failed": 0, "unknown": 0}
    assert outcome.retry_at is not None
    retry = timedelta(seconds=PLACE_RETRY)
    assert before + retry <= outcome.retry_at <= after + retry
