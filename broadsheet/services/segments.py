"""Saved segments: named audience rules (broadsheet.services.audiences), counted before a
send, and explained for one reader: which rule lets them in, which keeps them out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadsheet.errors import Conflict, NotFound, ValidationError
from broadsheet.models import Segment, Subscriber, SubscriberStatus, utcnow
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
    """A named segment of checked rules (at least one; not another segment's name: its rules
    would be copied, and a later change to it would not follow). A name in use is a Conflict."""
    errors: dict[str, str] = {}
    title = name.strip() if isinstance(name, str) else ""
    if not title or len(title) > 100:
        errors["name"] = "must be 1 to 100 characters"
    checked: dict[str, Any] = {}
    if isinstance(rules, dict) and "segment" in rules:
        errors["rules.segment"] = "a segment cannot include another; give its rules"
    else:
        try:
            checked = audiences.check_rules(session, rules, "rules")
        except ValidationError as exc:
            errors.update(exc.fields)
        if (
            not checked
            and "rules" not in errors
            and not any(k.startswith("rules.") for k in errors)
        ):
            errors["rules"] = "must hold at least one rule"
    if errors:
        raise ValidationError(errors)
    if session.scalar(select(Segment.id).where(Segment.name == title)) is not None:
        raise Conflict(f"a segment is already named {title!r}")
    segment = Segment(name=title, rules=checked, created_at=utcnow())
    session.add(segment)
    session.flush()
    return segment


def count(session: Session, segment: Segment) -> int:
    """How many readers the segment holds now (what a campaign to it would be planned for)."""
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
