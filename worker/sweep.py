"""The outbox sweep: owed mail (confirmations to readers, reports to admins) sent by the one
send loop (worker/sending.py), in passes over one SMTP connection, with their outcomes in the
outbox (broadsheet/services/outbox_queue.py).

A pass claims up to `PASS_ROWS` due rows, oldest first; the sweep claims again while passes
come back full, for at most `SWEEP_SECONDS`, then gives the connection up (`more`): signups
that arrive meanwhile have asked for the next sweep already (worker/tasks.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from broadsheet.mail.campaign_report import campaign_report_message
from broadsheet.mail.compose import Publisher, confirmation_message, welcome_message
from broadsheet.mail.my_data import data_export_message
from broadsheet.models import OutboxKind, OutboxStatus, utcnow
from broadsheet.services import outbox_queue, publication, suppression
from broadsheet.services.outbox_queue import Held
from worker import sending
from worker.resources import Resources
from worker.sending import Connections, Fate, Outcome

PASS_ROWS = 100  # rows claimed at a time
SWEEP_SECONDS = 20.0  # then the connection is given up and the next sweep takes over

# What each fate is in the outbox: a bounced address fails the mail (and bounces the reader;
# an admin's address bouncing touches no reader).
STATUS = {
    Fate.SENT: OutboxStatus.SENT,
    Fate.FAILED: OutboxStatus.FAILED,
    Fate.BOUNCED: OutboxStatus.FAILED,
    Fate.UNKNOWN: OutboxStatus.UNKNOWN,
}


def sweep_due(res: Resources, claim_key: str) -> Outcome:
    """Send the due outbox rows, pass after pass, over one connection."""
    return sending.run(res, claim_key, Outbox(res), seconds=SWEEP_SECONDS)


class Outbox:
    """The source of a sweep: passes of the oldest due rows while they come back full."""

    kind = "outbox"

    def __init__(self, res: Resources) -> None:
        self.res = res

    def claim(self, held: Connections, claim_key: str, outcome: Outcome) -> OutboxLedger | None:
        lease = timedelta(seconds=self.res.settings.claim_lease)
        with held.sessions.begin() as session:
            rows = outbox_queue.claim(session, claim_key, lease, PASS_ROWS)
            publisher = publication.publisher(session) if rows else Publisher()
        if not rows:
            return None
        return OutboxLedger(self.res, held, claim_key, outcome, rows, publisher)

    def again(self, ledger: sending.Ledger) -> bool:
        return len(ledger.addresses()) == PASS_ROWS

    def renew(self, session: Session, claim_key: str, until: datetime) -> bool:
        return outbox_queue.renew(session, claim_key, until)

    def next_due(self, session: Session) -> datetime | None:
        return outbox_queue.next_due(session)


@dataclass
class OutboxLedger(sending.Ledger):
    """The outbox rows of a pass, each message made for its reader or admin."""

    rows: list[Held]
    publisher: Publisher  # the publication's name and look, read once per pass

    def addresses(self) -> Sequence[str]:
        return [row.address for row in self.rows]

    def message(self, index: int) -> bytes:
        row = self.rows[index]
        if row.reader is not None and row.kind == OutboxKind.DATA_EXPORT:
            assert row.export is not None, "an export is read when its row is claimed"
            return data_export_message(row.reader, row.export, self.res.settings, self.publisher)
        if row.reader is not None and row.kind == OutboxKind.WELCOME:
            return welcome_message(row.reader, row.newsletters, self.res.settings, self.publisher)
        if row.reader is not None:
            return confirmation_message(row.reader, self.res.settings, self.publisher)
        report = row.report
        assert report is not None, "a row is for a reader or an admin"
        paused = row.kind == OutboxKind.CAMPAIGN_PAUSED
        return campaign_report_message(
            report.email, report.figures, report.as_of, paused=paused, settings=self.res.settings
        )

    def still_sending(self) -> bool:
        return True  # owed mail is not paused

    def _finish_and_begin(
        self, db: Session | Connection, index: int, fate: Fate, values: Mapping[str, str],
        begin: int | None,
    ) -> bool:  # fmt: skip
        next_row = None if begin is None else self.rows[begin].row_id
        return outbox_queue.finish_and_begin(
            db, self.claim_key, self.rows[index], STATUS[fate], next_row,
            error=values.get("error"), reply=values.get("reply"),
        )  # fmt: skip

    def _begin(self, session: Session, index: int) -> bool:
        row_id = self.rows[index].row_id
        return outbox_queue.finish_and_begin(session, self.claim_key, None, None, row_id)

    def _defer(
        self, session: Session, indices: Sequence[int], error: str, *, count_attempt: bool
    ) -> tuple[list[int], datetime | None]:
        delays = self.res.settings.retry_delays
        rows = self._ids(indices)
        deferred = outbox_queue.defer(
            session, self.claim_key, rows, error, delays, count_attempt=count_attempt
        )
        given_up = set(deferred.failed)
        return [i for i in indices if self.rows[i].row_id in given_up], deferred.retry_at

    def _give_back(
        self, session: Session, indices: Sequence[int], due: datetime | None, reason: str | None
    ) -> None:
        outbox_queue.postpone(session, self.claim_key, self._ids(indices), due or utcnow())

    def _bounce(self, session: Session, index: int, reply: str) -> None:
        reader = self.rows[index].reader
        if reader is not None:  # an admin's report only fails: the relay's reply says why
            suppression.mark_bounced(session, reader.id, reply)

    def about(self, index: int) -> tuple[str, dict[str, object]]:
        row = self.rows[index]
        ids: dict[str, object] = {} if row.reader is None else {"subscriber_id": row.reader.id}
        return f"outbox message {row.row_id} ({row.kind.value})", ids

    def _ids(self, indices: Sequence[int]) -> list[int]:
        return [self.rows[i].row_id for i in indices]
