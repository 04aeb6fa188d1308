"""Saved segments: named audience rules (broadsheet.services.audiences), counted before a
send, and explained for one reader: which rule lets them in, which keeps them out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadsheet.errors import Conflict, NotFound, ValidationError
from broadsheet.models import (
    Campaign,
    Segment,
    Subscriber,
    SubscriberStatus,
    utcnow,
)
from broadsheet.services import audiences


@dataclass(frozen=True)
class Reason:
    rule: str  # "status", or a rule's name
    wanted: Any  # what the rule asks for, as kept
    met: bool


def list_segments(session: Session) -> list[Segment]:
    return list(session.scalars(select(Segment).order_by(Segment.name)))


def get_segment(session: Session, segment_id: int) -> Segment:
    segment = session.get(Segment, segment_id)
    if segment is None:
        raise NotFound(f"segment {segment_id} does not exist")
    return segment


def create_segment(session: Session, name: object, rules: object) -> Segment:
    """A named segment of checked rules (at least one; not another segment's name: segments
    do not nest). A name in use is a Conflict."""
    title, checked = _checked(session, name, rules)
    if session.scalar(select(Segment.id).where(Segment.name == title)) is not None:
        raise Conflict(f"a segment is already named {title!r}")
    segment = Segment(name=title, rules=checked, created_at=utcnow())
    session.add(segment)
    session.flush()
    return segment


def update_segment(session: Session, segment_id: int, name: object, rules: object) -> Segment:
    """New name and rules for a segment, checked as for a new one. Campaigns waiting for
    their send to start (`waiting_campaigns`) go to it as it is now; those started keep the
    rules it had when they started."""
    segment = get_segment(session, segment_id)
    title, checked = _checked(session, name, rules)
    taken = select(Segment.id).where(Segment.name == title, Segment.id != segment_id)
    if session.scalar(taken) is not None:
        raise Conflict(f"a segment is already named {title!r}")
    segment.name, segment.rules = title, checked
    session.flush()
    return segment


def delete_segment(session: Session, segment_id: int) -> None:
    """Remove the segment; Conflict naming the campaigns still waiting to start with it
    (they would lose their audience: change theirs, or cancel them, first). Campaigns
    started or cancelled froze its rules and are not concerned."""
    segment = get_segment(session, segment_id)
    waiting = waiting_campaigns(session, segment)
    if waiting:
        raise Conflict(f"the segment {segment.name!r} is still the audience of {in_words(waiting)}")
    session.delete(segment)
    session.flush()


def in_words(waiting: list[Campaign]) -> str:
    """The waiting campaigns named for a message: "campaign 3 (“Spring appeal”)", the first
    three and how many more."""
    named = [f"campaign {c.id} (“{c.subject}”)" for c in waiting[:3]]
    if len(waiting) > 3:
        named.append(f"{len(waiting) - 3} more")
    return named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]


def count_rules(session: Session, rules: object) -> int:
    """How many readers rules not saved yet would hold now (the count shown before saving);
    ValidationError as for a new segment's rules."""
    checked = check_segment_rules(session, rules)
    condition = audiences.readers_condition(audiences.CHOSEN, checked)
    return session.scalar(select(func.count()).select_from(Subscriber).where(condition)) or 0


def waiting_campaigns(session: Session, segment: Segment) -> list[Campaign]:
    """The campaigns whose audience is the segment as it is now: drafts, scheduled ones, and
    any whose send has been asked for but not yet planned (the start freezes its rules into
    them); read by the partial index on `campaigns.segment_id`."""
    query = select(Campaign).where(Campaign.segment_id == segment.id).order_by(Campaign.id)
    return list(session.scalars(query))


def check_segment_rules(session: Session, rules: object) -> dict[str, Any]:
    """A segment's rules as kept: checked by audiences (ValidationError on `rules.<rule>`),
    at least one, and no other segment in them."""
    if isinstance(rules, dict) and "segment" in rules:
        raise ValidationError({"rules.segment": "a segment cannot include another; give its rules"})
    checked = audiences.check_rules(session, rules, "rules")
    if not checked:
        raise ValidationError({"rules": "must hold at least one rule"})
    return checked


def _checked(session: Session, name: object, rules: object) -> tuple[str, dict[str, Any]]:
    """The name and the rules, every problem with either at once (ValidationError)."""
    errors: dict[str, str] = {}
    title = name.strip() if isinstance(name, str) else ""
    if not title or len(title) > 100:
        errors["name"] = "must be 1 to 100 characters"
    checked: dict[str, Any] = {}
    try:
        checked = check_segment_rules(session, rules)
    except ValidationError as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationError(errors)
    return title, checked


def count(session: Session, segment: Segment) -> int:
    """How many readers the segment holds now (what a campaign to it would be planned for).
    One pass over the readers its rules can reach: tens of milliseconds at 100,000 readers,
    so a page counts one segment, never every row of a list."""
    condition = audiences.readers_condition(audiences.CHOSEN, segment.rules)
    query = select(func.count()).select_from(Subscriber).where(condition)
    return session.scalar(query) or 0


def explain(session: Session, segment: Segment, subscriber: Subscriber) -> list[Reason]:
    """Why the reader is in the segment or not: their status, then each rule, met or not.
    One query: every rule's condition evaluated for this reader's row."""
    conditions = audiences.rule_conditions(segment.rules)
    row = (
        session.execute(
            select(*(condition for _, condition in conditions)).where(
                Subscriber.id == subscriber.id
            )
        ).one()
        if conditions
        else ()
    )
    reasons = [Reason("status", "active", subscriber.status == SubscriberStatus.ACTIVE)]
    reasons += [
        Reason(rule, segment.rules[rule], bool(met))
        for (rule, _), met in zip(conditions, row, strict=True)
    ]
    return reasons
