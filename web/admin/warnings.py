"""The overview's warnings: what is wrong, in plain words, each with where to look.

Each source of trouble adds its sentences here (today: complaint rates above Gmail's line);
the system's health (workers, queues, relays, beat) adds its own beside them.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from sqlalchemy.orm import Session

from broadsheet.services import reception


@dataclass(frozen=True)
class Warning:
    """One thing wrong: a sentence, and a link to where it can be looked into."""

    text: str
    href: str
    link: str


def warnings(db: Session) -> list[Warning]:
    """Everything the overview warns about now, most pressing first."""
    return complaint_warnings(db)


def complaint_warnings(db: Session) -> list[Warning]:
    """A warning per recent campaign whose readers complained above Gmail's 0.3% line."""
    found = []
    for campaign, figures in reception.above_complaint_line(db):
        rate = figures.complaint_rate or 0.0
        found.append(
            Warning(
                f"“{campaign.subject}” drew complaints from {rate:.2%} of the readers it "
                f"reached ({figures.complaints:,} of {figures.sent:,}), above Gmail's line of "
                f"{reception.COMPLAINT_LINE:.1%}: past it, Gmail puts a sender's mail in spam "
                "or refuses it.",
                url_for("admin.reports.index", kind="complaint"),
                "See the complaints",
            )
        )
    return found
