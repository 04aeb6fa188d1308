"""`broadsheet status`: what the system is doing, for a terminal or cron: campaigns being
sent (counts and rate), Celery's queues, the workers and their tasks, beat's last tick, the
relays, the bounce mailbox and the warnings (broadsheet/health.py). Non-zero with a warning."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import redis
from sqlalchemy import select

from broadsheet.db import make_engine, make_session_factory
from broadsheet.health import Health, warnings
from broadsheet.models import Campaign, CampaignStatus, utcnow
from broadsheet.services import progress
from broadsheet.services.vitals import backlog
from broadsheet.settings import Settings
from web.health import snapshot


def report(settings: Settings, say: Callable[[str], None]) -> int:
    """Print the status with `say`; the number of warnings (the command's exit status)."""
    now = utcnow()
    engine = make_engine(settings.database_url)
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
    try:
        with make_session_factory(engine).begin() as session:
            sending = list(
                session.scalars(
                    select(Campaign)
                    .where(Campaign.status == CampaignStatus.SENDING)
                    .order_by(Campaign.id)
                )
            )
            counts = progress.shown(session, [c.id for c in sending])
            waiting = backlog(session, now)
            say("Campaigns being sent:" if sending else "Campaigns being sent: none")
            for campaign in sending:
                say("  " + _campaign_line(campaign, counts[campaign.id], now))
            say(
                f"Backlog: {waiting.deliveries} deliveries, oldest queued "
                f"{_ago(waiting.oldest_queued_seconds)}; outbox due: {waiting.outbox_due}"
            )
            try:
                health = snapshot(client, session)
            except redis.RedisError as exc:
                say(f"Redis cannot be read ({exc}): no queue, worker or tick facts.")
                return 1
    finally:
        client.close()
        engine.dispose()
    _facts(health, now, say)
    found = warnings(health, now, configured_relays=[r.name for r in settings.relays])
    say("Warnings:" if found else "Warnings: none")
    for warning in found:
        say(f"  ! {warning}")
    return len(found)


def _facts(health: Health, now: datetime, say: Callable[[str], None]) -> None:
    say("Queues: " + ", ".join(f"{name} {depth}" for name, depth in health.queues.items()))
    say(f"Workers: {len(health.workers) or 'none'}")
    for worker in health.workers:
        tasks = ", ".join(
            f"{d.task.removeprefix('broadsheet.')}"
            + (f" (campaign {d.campaign_id})" if d.campaign_id else "")
            + f" for {_ago((now - d.since).total_seconds())}"
            for d in worker.doing
        )
        say(f"  {worker.name}: {tasks or 'idle'}")
    say(f"Last task taken: {_when(health.last_task_at, now)}")
    say(f"Beat's last tick: {_when(health.last_tick_at, now)}")
    for relay in health.relays:
        error = f" (last error {_when(relay.error_at, now)}: {relay.error})" if relay.error else ""
        say(f"Relay {relay.name}: {relay.state}{error}")
    if health.mailbox is not None:
        say(f"Bounce mailbox: polled {_when(health.mailbox.at, now)}: {health.mailbox.result}")


def _campaign_line(campaign: Campaign, counts: dict[str, int], now: datetime) -> str:
    done = sum(counts.get(k, 0) for k in ("sent", "failed", "bounced", "unknown"))
    seconds = (now - campaign.started_at).total_seconds() if campaign.started_at else 0
    rate = f", {counts.get('sent', 0) / seconds:.1f}/s" if seconds > 0 else ""
    return (
        f"#{campaign.id} {campaign.subject!r}: {done} of {counts.get('total', 0)} done "
        f"(sent {counts.get('sent', 0)}, failed {counts.get('failed', 0)}, bounced "
        f"{counts.get('bounced', 0)}, queued {counts.get('queued', 0)}){rate}"
    )


def _when(at: datetime | None, now: datetime) -> str:
    return "never" if at is None else f"{_ago((now - at).total_seconds())} ago"


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
