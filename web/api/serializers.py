"""JSON shapes of the API's resources. They receive every value they show (counts included)
and never query: a list of campaigns costs the same queries as one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from broadsheet.mail.checks import Check, worst
from broadsheet.models import Article, Campaign, Feed, Newsletter, Segment, Subscriber
from broadsheet.services.audience_freeze import rules_of
from broadsheet.services.progress import counted_at
from broadsheet.services.readers import ReaderRow


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def subscriber_json(
    s: Subscriber, tags: Sequence[str] = (), newsletters: Sequence[str] = ()
) -> dict[str, Any]:
    """A reader, with their `tags` and the slugs of the `newsletters` they are subscribed to."""
    return {
        "id": s.id,
        "email": s.email,
        "name": s.name,
        "status": s.status.value,
        "source": s.source,
        "created_at": _iso(s.created_at),
        "confirmed_at": _iso(s.confirmed_at),
        "unsubscribed_at": _iso(s.unsubscribed_at),
        "newsletters": list(newsletters),
        "tags": list(tags),
        "attributes": s.attributes or {},
    }


def reader_row_json(r: ReaderRow) -> dict[str, Any]:
    """A reader as a list shows them (one page, one query: no tags or newsletters)."""
    return {
        "id": r.id,
        "email": r.email,
        "name": r.name,
        "status": r.status.value,
        "created_at": _iso(r.created_at),
        "status_changed_at": _iso(r.status_changed_at),
    }


def segment_json(s: Segment, readers: int | None = None) -> dict[str, Any]:
    """A segment, with how many `readers` it holds when counted (one segment, not a list)."""
    body: dict[str, Any] = {
        "id": s.id,
        "name": s.name,
        "rules": s.rules,
        "created_at": _iso(s.created_at),
    }
    if readers is not None:
        body["readers"] = readers
    return body


def feed_json(f: Feed, newsletter: str | None) -> dict[str, Any]:
    """A feed with how its polls went; `newsletter` is the slug its campaigns go to (None:
    every reader)."""
    return {
        "id": f.id,
        "url": f.url,
        "newsletter": newsletter,
        "send_now": f.send_now,
        "paused": f.paused,
        "failures": f.failures,
        "last_polled_at": _iso(f.last_polled_at),
        "last_ok_at": _iso(f.last_ok_at),
        "last_error": f.last_error,
        "last_error_at": _iso(f.last_error_at),
        "created_at": _iso(f.created_at),
    }


def newsletter_json(n: Newsletter) -> dict[str, Any]:
    return {
        "id": n.id,
        "slug": n.slug,
        "name": n.name,
        "description": n.description,
        "public": n.public,
        "sender_name": n.sender_name,
        "sender_address": n.sender_address,
        "reply_to": n.reply_to,
        "welcome": n.welcome,
        "default": n.is_default,
        "created_at": _iso(n.created_at),
    }


def article_json(a: Article) -> dict[str, Any]:
    return {
        "id": a.id,
        "slug": a.slug,
        "title": a.title,
        "dek": a.dek,
        "author": a.author,
        "url": a.canonical_url,
        "reading_minutes": a.reading_minutes,
        "published_at": _iso(a.published_at),
    }


def campaign_json(c: Campaign, counts: dict[str, int]) -> dict[str, Any]:
    """A campaign with its deliveries counted by status (`campaigns.delivery_counts`) and its
    readers' engagement (`engagement.engagement_counts`) in `counts`."""
    return {
        "id": c.id,
        "article_id": c.article_id,
        "subject": c.subject,
        "preheader": c.preheader,
        "audience": c.audience,
        # With audience "chosen": its rules ({"newsletters": [ids], "tags_any": [...], ...}),
        # a segment's under them (and its name) as it is now until the send starts, frozen
        # then; `segment_id` is the segment it waits on (null once frozen).
        "audience_rules": rules_of(c),
        "segment_id": c.segment_id,
        "tracking": c.tracking,
        "status": c.status.value,
        "pause_reason": c.pause_reason,
        "counts": counts,
        # When `counts` were made, for a large campaign shown with kept counts; else null.
        "counted_at": _iso(counted_at(c)),
        "created_at": _iso(c.created_at),
        "scheduled_at": _iso(c.scheduled_at),
        "started_at": _iso(c.started_at),
        "finished_at": _iso(c.finished_at),
    }


def checks_json(checks: Sequence[Check], link_report: Mapping[str, Any] | None) -> dict[str, Any]:
    """The pre-send checks with the worst level, and when the links were last checked."""
    return {
        "worst": worst(checks),
        "checks": [
            {"key": c.key, "title": c.title, "level": c.level, "detail": c.detail} for c in checks
        ],
        "links_checked_at": (link_report or {}).get("checked_at"),
    }
