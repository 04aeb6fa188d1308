"""The bounce mailbox poller: beat runs it every 60 s (see worker.app)."""

from __future__ import annotations

import logging
from collections import Counter

from broadsheet.bounces.intake import process_mail
from broadsheet.bounces.mailbox import MailboxError, open_mailbox
from broadsheet.services.suppression import SoftBounceLimit
from worker import heartbeat
from worker.app import celery_app
from worker.resources import resources

log = logging.getLogger(__name__)

# Messages handled per poll, so one run stays short; the rest wait for the next poll.
MAX_PER_POLL = 500


@celery_app.task(name="broadsheet.poll_bounces")
def poll_bounces() -> dict[str, int]:
    """Apply the reports in BOUNCE_MAILBOX_URL, one transaction per message, and delete each
    message only after its transaction committed. Does nothing when the setting is unset.

    Idempotent: reports are recorded by fingerprint, so a message read twice (the worker died
    before deleting it, two polls overlapped) changes nothing. Not retried: an unreachable
    mailbox is logged and the next poll tries again.
    """
    res = resources()
    url = res.settings.bounce_mailbox_url
    if not url:
        return {}
    counts: Counter[str] = Counter()
    secret = res.settings.secret_key
    soft_limit = SoftBounceLimit(res.settings.soft_bounce_limit, res.settings.soft_bounce_days)
    try:
        with open_mailbox(url) as box:
            for key in box.keys()[:MAX_PER_POLL]:
                raw = box.fetch(key)
                with res.sessions.begin() as session:
                    outcome = process_mail(session, raw, secret, soft_limit=soft_limit)
                box.remove(key)
                counts[outcome.action] += 1
    except MailboxError as exc:
        log.warning("bounce mailbox: %s (%s handled before that)", exc, sum(counts.values()))
        heartbeat.mailbox_polled(res.redis, False, str(exc))
        return dict(counts)
    heartbeat.mailbox_polled(res.redis, True, _in_words(counts))
    if counts:
        log.info("bounce mailbox: %s", dict(counts))
    return dict(counts)


def _in_words(counts: Counter[str]) -> str:
    """What a poll handled, e.g. "3 suppressed, 1 recorded" (or "nothing new")."""
    return ", ".join(f"{n} {action}" for action, n in counts.most_common()) or "nothing new"
