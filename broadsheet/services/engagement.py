"""A campaign's engagement: unique readers who opened, clicked, unsubscribed or complained,
raw and likely human, its most clicked links and its opens and clicks hour by hour.

Raw counts every reader a hit was recorded for, machines' included (Apple's proxy opens every
message; gateways click every link); likely human counts only hits judged human
(broadsheet/tracking/verdicts.py). A click implies an open: a reader who clicked counts as
opened. Hits kept in privacy mode (TRACKING_PRIVACY=on) have no reader, so each of them adds
one to the figures instead of one per reader.

A campaign with many hits is shown with readers as last counted by the tick
(broadsheet.services.engagement_kept); unsubscribes and complaints are always counted now
(from subscriber_events by campaign, and the memberships left through it: a few thousand
rows at most)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Subquery, and_, case, distinct, func, literal, select, union
from sqlalchemy.orm import Session

from broadsheet.models import (
    Engagement,
    EngagementCount,
    EngagementKind,
    Membership,
    SubscriberEvent,
    SubscriberStatus,
)
from broadsheet.services import engagement_kept

FIGURES = ("opened", "opened_human", "clicked", "clicked_human", "unsubscribed", "complained")
# Why raw and likely-human figures differ, in a line for every page that shows both.
WHY_THEY_DIFFER = (
    "Raw figures include machines: Apple Mail opens every message through its proxy and "
    "security scanners click links; likely human leaves those out."
)
CLICK = EngagementKind.CLICK


READERS = FIGURES[:4]  # counted from the hits; the rest from subscriber_events


def engagement_counts(session: Session, campaign_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """FIGURES for each campaign as pages show them, in four queries whatever the number of
    campaigns: readers kept for the large ones, counted now for the rest."""
    result = {campaign_id: dict.fromkeys(FIGURES, 0) for campaign_id in campaign_ids}
    if not campaign_ids:
        return result
    large = engagement_kept.kept(session, campaign_ids)
    for campaign_id, report in large.items():
        result[campaign_id].update({name: report.figures["readers"][name] for name in READERS})
    small = [cid for cid in campaign_ids if cid not in large]
    for campaign_id, readers in count_readers(session, small).items():
        result[campaign_id].update(readers)
    for campaign_id, left in count_left(session, campaign_ids).items():
        result[campaign_id].update(left)
    return result


def count_readers(session: Session, campaign_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """READERS of each campaign counted now, over all its hits (two queries)."""
    result = {campaign_id: dict.fromkeys(READERS, 0) for campaign_id in campaign_ids}
    if not campaign_ids:
        return result
    e = Engagement
    click = e.kind == CLICK
    readers = session.execute(
        select(
            e.campaign_id,
            func.count(distinct(e.delivery_id)),
            func.count(distinct(_when(e.human.is_(True), e.delivery_id))),
            func.count(distinct(_when(click, e.delivery_id))),
            func.count(distinct(_when(and_(click, e.human), e.delivery_id))),
        )
        .where(e.campaign_id.in_(campaign_ids))
        .group_by(e.campaign_id)
    )
    for campaign_id, opened, opened_human, clicked, clicked_human in readers:
        result[campaign_id].update(
            opened=opened, opened_human=opened_human, clicked=clicked, clicked_human=clicked_human
        )
    c = EngagementCount
    counted = session.execute(
        select(c.campaign_id, c.kind, c.human, func.sum(c.count))
        .where(c.campaign_id.in_(campaign_ids))
        .group_by(c.campaign_id, c.kind, c.human)
    )
    for campaign_id, kind, human, total in counted:
        n = int(total or 0)
        figures = result[campaign_id]
        names = ("opened", "clicked") if kind == CLICK else ("opened",)
        for name in names:  # a click is an open too
            figures[name] += n
            figures[f"{name}_human"] += n if human else 0
    return result


def left_through(campaign_ids: Sequence[int]) -> Subquery:
    """Readers who left through each of these campaigns, one row per (campaign_id, name,
    subscriber_id) with `name` "unsubscribed" (from everything, by their event; or from the
    campaign's newsletter only, by the membership they left through it) or "complained"."""
    ev = SubscriberEvent
    complained = ev.to_status == SubscriberStatus.COMPLAINED
    events = select(
        ev.campaign_id.label("campaign_id"),
        case((complained, "complained"), else_="unsubscribed").label("name"),
        ev.subscriber_id.label("subscriber_id"),
    ).where(
        ev.campaign_id.in_(campaign_ids),
        ev.to_status.in_((SubscriberStatus.UNSUBSCRIBED, SubscriberStatus.COMPLAINED)),
    )
    left_newsletter = select(
        Membership.left_through, literal("unsubscribed"), Membership.subscriber_id
    ).where(Membership.left_through.in_(campaign_ids))
    return union(events, left_newsletter).subquery()  # each reader once per campaign and name


def count_left(session: Session, campaign_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Readers who unsubscribed through each campaign (from everything, or from the campaign's
    newsletter only) or complained about it (one query)."""
    result = {campaign_id: {"unsubscribed": 0, "complained": 0} for campaign_id in campaign_ids}
    if not campaign_ids:
        return result
    both = left_through(campaign_ids)
    left = session.execute(
        select(both.c.campaign_id, both.c.name, func.count()).group_by(
            both.c.campaign_id, both.c.name
        )
    )
    for campaign_id, name, n in left:
        result[campaign_id][name] = n
    return result


@dataclass(frozen=True)
class LinkClicks:
    index: int
    url: str
    clicked: int  # readers, raw
    clicked_human: int


@dataclass(frozen=True)
class HourCounts:
    hour: datetime  # the start of the hour, UTC
    opens: int  # hits, raw
    opens_human: int
    clicks: int
    clicks_human: int


def top_links(
    session: Session, campaign_id: int, links: Sequence[str], limit: int = 10
) -> list[LinkClicks]:
    """The campaign's most clicked links (readers, raw and likely human), most first; the
    honeypot (one past the last link) is never among them."""
    e, c = Engagement, EngagementCount
    clicks: dict[int, list[int]] = {}
    per_reader = session.execute(
        select(
            e.link_index,
            func.count(distinct(e.delivery_id)),
            func.count(distinct(_when(e.human.is_(True), e.delivery_id))),
        )
        .where(e.campaign_id == campaign_id, e.kind == CLICK, e.link_index < len(links))
        .group_by(e.link_index)
    )
    counted = session.execute(
        select(c.link_index, func.sum(c.count), func.sum(_when(c.human.is_(True), c.count, 0)))
        .where(c.campaign_id == campaign_id, c.kind == CLICK, c.link_index < len(links))
        .group_by(c.link_index)
    )
    for index, raw, human in [*per_reader, *counted]:
        totals = clicks.setdefault(int(index), [0, 0])
        totals[0] += int(raw or 0)
        totals[1] += int(human or 0)
    ranked = sorted(clicks.items(), key=lambda item: (-item[1][0], item[0]))[:limit]
    return [LinkClicks(i, links[i], raw, human) for i, (raw, human) in ranked]


def hourly(session: Session, campaign_id: int) -> list[HourCounts]:
    """Opens and clicks (hits, raw and likely human) per hour since the send, for a chart;
    only hours with hits, oldest first. Privacy mode keeps no times, so only reader mode's."""
    e = Engagement
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        hour: ColumnElement[str] = func.to_char(func.date_trunc("hour", e.at), "YYYY-MM-DD HH24:00")
    else:
        hour = func.strftime("%Y-%m-%d %H:00", e.at)
    click = e.kind == CLICK
    rows = session.execute(
        select(
            hour,
            func.count(_when(~click, 1)),
            func.count(_when(and_(~click, e.human), 1)),
            func.count(_when(click, 1)),
            func.count(_when(and_(click, e.human), 1)),
        )
        .where(e.campaign_id == campaign_id)
        .group_by(hour)
        .order_by(hour)
    )
    return [
        HourCounts(datetime.fromisoformat(f"{h}:00+00:00"), o, oh, c, ch)
        for h, o, oh, c, ch in rows
    ]


def _when(
    condition: ColumnElement[bool], value: object, otherwise: object = None
) -> ColumnElement[int]:
    """`CASE WHEN condition THEN value ELSE otherwise END`: counted only where it holds."""
    return case((condition, value), else_=otherwise)
