"""The overview's warnings: what is wrong, in plain words, each with where to look.

The system's health first (workers, beat, relays, the bounce mailbox: broadsheet.health),
then complaint rates above Gmail's line per recent campaign, each linked to its reports,
then feeds paused (by their failures or by an editor), each linked to its page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import url_for
from sqlalchemy.orm import Session

from broadsheet import health
from broadsheet.health import COMPLAINT_LINE
from broadsheet.services import feeds, reception


@dataclass(frozen=True)
class Warning:
    """One thing wrong: a sentence, and a link to where it can be looked into."""

    text: str
    href: str
    link: str


def warnings(db: Session, system: health.Health | None, now: datetime) -> list[Warning]:
    """Everything the overview warns about now, most pressing first; `system` None: Redis,
    where the workers leave their health, could not be read."""
    here = url_for("admin.home.index", _anchor="system")
    if system is None:
        texts = ["Redis cannot be read: nothing can be sent or scheduled."]
    else:
        texts = health.warnings(system, now)
    found = [Warning(" ".join(texts), here, "See the system")] if texts else []
    return found + complaint_warnings(db) + feed_warnings(db)


def complaint_warnings(db: Session) -> list[Warning]:
    """A warning per recent campaign whose readers complained above Gmail's 0.3% line."""
    found = []
    for campaign, figures in reception.above_complaint_line(db):
        rate = figures.complaint_rate or 0.0
        found.append(
            Warning(
                f"“{campaign.subject}” drew complaints from {rate:.2%} of the readers it "
                f"reached ({figures.complaints:,} of {figures.sent:,}), above Gmail's line of "
                f"{COMPLAINT_LINE:.1%}: past it, Gmail puts a sender's mail in spam "
                "or refuses it.",
                url_for("admin.reports.index", kind="complaint"),
                "See the complaints",
            )
        )
    return found


def feed_warnings(db: Session) -> list[Warning]:
    """A warning per paused feed: its new entries wait until someone resumes it."""
    found = []
    for feed in feeds.paused_feeds(db):
        why = (
            f"after {feed.failures} failed polls in a row (the last: {feed.last_error})"
            if feed.failures and feed.last_error
            else "by an editor"
        )
        found.append(
            Warning(
                f"The feed {feed.url} is paused {why}: its new entries do not become "
                "articles or campaigns until it is resumed.",
                url_for("admin.feeds.show", feed_id=feed.id),
                "See the feed",
            )
        )
    return found
