"""System health: the facts workers leave in Redis (their key names here, written by
worker/heartbeat.py and read by web/health.py), and the warnings, in plain words, that an
operator should act on. Pure: no Redis, no clock of its own (`now` is given).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# Each worker host (Celery's node name) renews its key while it runs; gone after WORKER_TTL.
WORKER_KEY = "broadsheet:health:worker:"  # + node name
WORKER_BEAT_SECONDS, WORKER_TTL = 10, 30
# Each pool process says what task it runs, from its start to its end (the TTL only clears
# what a killed process left).
TASK_KEY = "broadsheet:health:task:"  # + node name + ":" + pid
TASK_TTL = 3600
LAST_TASK_KEY = "broadsheet:health:last-task"  # when any worker last took a task
TICK_KEY = "broadsheet:health:tick"  # when the scheduler's tick last ran
RELAY_KEY = "broadsheet:health:relay:"  # + relay name
MAILBOX_KEY = "broadsheet:health:bounce-poll"  # the bounce mailbox's last poll

NO_TASK_AFTER = timedelta(minutes=5)
NO_TICK_AFTER = timedelta(minutes=2)
# Gmail's line for bulk senders: complaints above 0.3% of the mail delivered.
COMPLAINT_LINE = 0.003


@dataclass(frozen=True)
class Doing:
    """A task one pool process is running."""

    process: str  # node name and pid
    task: str
    since: datetime
    campaign_id: int | None = None


@dataclass(frozen=True)
class WorkerState:
    """A live worker (its key is renewed) and what its pool processes are doing."""

    name: str
    seen_at: datetime
    doing: tuple[Doing, ...] = ()


@dataclass(frozen=True)
class RelayState:
    """A relay as the senders last found it: "ok" (it took a connection) or "refusing"."""

    name: str
    state: str
    at: datetime
    error: str | None = None
    error_at: datetime | None = None


@dataclass(frozen=True)
class MailboxPoll:
    at: datetime
    ok: bool
    result: str  # what was handled, or the error


@dataclass(frozen=True)
class CampaignComplaints:
    campaign_id: int
    subject: str
    delivered: int
    complaints: int

    @property
    def rate(self) -> float:
        return self.complaints / self.delivered if self.delivered else 0.0


@dataclass(frozen=True)
class Health:
    """Everything the overview and `broadsheet status` show about the running system."""

    workers: tuple[WorkerState, ...] = ()
    queues: dict[str, int] = field(default_factory=dict)  # Celery queue -> waiting tasks
    relays: tuple[RelayState, ...] = ()
    last_task_at: datetime | None = None
    last_tick_at: datetime | None = None
    mailbox: MailboxPoll | None = None
    complaints: tuple[CampaignComplaints, ...] = ()


def warnings(health: Health, now: datetime, *, configured_relays: Sequence[str] = ()) -> list[str]:
    """What is wrong, one sentence each, most urgent first; empty when all is well."""
    found = []
    if not health.workers:
        found.append("No worker is running: nothing is being sent.")
    elif health.last_task_at is None:
        found.append("No worker has taken a task yet.")
    elif now - health.last_task_at > NO_TASK_AFTER:
        found.append(f"No worker has taken a task for {_ago(now - health.last_task_at)}.")
    if health.last_tick_at is None:
        found.append("The scheduler (beat) has not ticked yet: scheduled sends will not start.")
    elif now - health.last_tick_at > NO_TICK_AFTER:
        found.append(
            f"The scheduler (beat) has not ticked for {_ago(now - health.last_tick_at)}: "
            "scheduled sends will not start and stalled ones will not be repaired."
        )
    for relay in health.relays:
        if relay.state != "ok" and (not configured_relays or relay.name in configured_relays):
            found.append(f"Relay {relay.name} refuses connections: {relay.error or 'no reason'}.")
    if health.mailbox is not None and not health.mailbox.ok:
        found.append(f"The bounce mailbox could not be read: {health.mailbox.result}.")
    for campaign in health.complaints:
        if campaign.rate > COMPLAINT_LINE:
            found.append(
                f"Campaign {campaign.campaign_id} ({campaign.subject}) drew complaints from "
                f"{campaign.rate:.2%} of its readers, above Gmail's 0.3% line."
            )
    return found


def _ago(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} minutes"
    return f"{minutes // 60} hours"
