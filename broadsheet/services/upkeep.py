"""The scheduler's periodic upkeep, decided in one transaction: which scheduled campaigns start,
which dead workers' claims are settled, and what work is lost and must be enqueued again.

The tick task only enqueues what `run_upkeep` returns, after its commit, so every decision
here can be tested without a broker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from broadsheet.services import (
    campaigns,
    claims,
    import_retention,
    ledger,
    outbox_queue,
    reader_imports,
)

Batch = tuple[int, int, int]  # (campaign id, first delivery id, last delivery id)


@dataclass(frozen=True)
class Upkeep:
    """What one tick decided: tasks to enqueue, and counts for the log."""

    plan: tuple[int, ...]  # campaigns to render and plan (start_campaign)
    batches: tuple[Batch, ...]  # ranges to send (send_batch)
    started: int  # scheduled campaigns whose time came
    unknown: int  # rows of dead claims whose outcome is unknown
    requeued: int  # rows of dead claims back in the queue
    overdue: int  # rows whose retry time passed with no task left to send them
    finished: int  # campaigns that became sent
    unplanned: int  # stalled campaigns whose planning never finished
    stalled: int  # stalled campaigns with due rows and no progress
    sweep: bool = False  # outbox mail is due (sweep_outbox)
    mail_unknown: int = 0  # outbox rows of dead sweeps whose outcome is unknown
    mail_requeued: int = 0  # outbox rows of dead sweeps pending again
    imports: tuple[int, ...] = ()  # readers' imports whose run was lost (run_import)
    imports_failed: int = 0  # imports lost too often, marked failed
    imports_expired: int = 0  # unconfirmed uploads and parts of old rejects deleted

    def counts(self) -> dict[str, int]:
        return {
            "started": self.started,
            "unknown": self.unknown,
            "requeued": self.requeued,
            "overdue": self.overdue,
            "finished": self.finished,
            "unplanned": self.unplanned,
            "queued": self.stalled,
            "mail_unknown": self.mail_unknown,
            "mail_requeued": self.mail_requeued,
            "imports_again": len(self.imports),
            "imports_failed": self.imports_failed,
            "imports_expired": self.imports_expired,
        }


def run_upkeep(
    session: Session,
    now: datetime,
    *,
    stall_after: timedelta,
    batch_size: int,
    overdue_after: timedelta = timedelta(seconds=10),
    tasks_lost: bool = False,
    notify_admins: bool = False,
) -> Upkeep:
    """Start due campaigns, settle expired claims (campaigns' and the outbox's), send again
    rows whose retry time passed more than `overdue_after` ago (the task that was to send
    them is gone), find stalled sends and whether outbox mail is due, as of `now`.
    `tasks_lost`: the broker lost its state (Redis restarted empty), so every sending
    campaign's due rows get batches now, without waiting `stall_after` for it to stall.
    `notify_admins`: a campaign it finishes owes its reports to admins (NOTIFY_ADMINS).

    Idempotent: a due campaign is started by one tick only, even when two run at once
    (a conditional UPDATE); a dead worker's in-flight row becomes `unknown` once and its
    other rows go back to the queue, to be sent at once (its ranges are returned); a stalled
    campaign's due rows get fresh batches, which are harmless if the old tasks still exist;
    a readers' import whose run was lost is freed for a new run (it goes on after its last
    committed line), or failed after reader_imports.MAX_ATTEMPTS; the uploads and rejected
    rows kept past their time are deleted (import_retention).
    """
    due = campaigns.start_due(session, now)
    unknown = requeued = 0
    batches: list[Batch] = []
    for claim_key in claims.expired_claims(session, now):
        recovered = claims.recover(session, claim_key, now)
        unknown, requeued = unknown + recovered.unknown, requeued + recovered.requeued
        batches.extend(recovered.ranges)
    overdue = ledger.rescue_overdue(session, now - overdue_after, batch_size)
    batches.extend(overdue.ranges)
    mail = outbox_queue.recover(session, now)
    # The rows settled last may have been a campaign's last open ones (`notify_admins`: its
    # reports to admins are owed with it, and due now).
    finished = ledger.complete_if_done(session, notify_admins=notify_admins)
    mail_due = outbox_queue.next_due(session)
    stalled = ledger.campaigns_needing_work(session, now - stall_after, tasks_lost=tasks_lost)
    imports = reader_imports.stalled(session, now, stall_after)
    expired = import_retention.expire(session, now)
    for campaign_id in stalled["queued"]:
        batches.extend(
            (campaign_id, first, last)
            for first, last in ledger.batch_ranges(session, campaign_id, batch_size)
        )
    return Upkeep(
        plan=(*due, *stalled["unplanned"]),
        batches=tuple(batches),
        started=len(due),
        unknown=unknown,
        requeued=requeued,
        overdue=overdue.rows,
        finished=finished,
        unplanned=len(stalled["unplanned"]),
        stalled=len(stalled["queued"]),
        sweep=mail_due is not None and mail_due <= now,
        mail_unknown=mail.unknown,
        mail_requeued=mail.requeued,
        imports=imports.again,
        imports_failed=imports.failed,
        imports_expired=expired.uploads + expired.rejects,
    )
