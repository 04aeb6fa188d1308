"""Campaigns: create one for an article, schedule it, start its send exactly once, report
its progress."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from broadsheet.addresses import check_address, clean_name
from broadsheet.db import rowcount
from broadsheet.errors import Conflict, NotFound, ValidationError
from broadsheet.ids import as_id
from broadsheet.mail import personal
from broadsheet.mail.compose import render_campaign
from broadsheet.models import (
    Article,
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    Newsletter,
    OutboxKind,
    Segment,
    Subscriber,
    utcnow,
)
from broadsheet.services import admin_reports, audience_freeze, audiences, newsletters, progress
from broadsheet.services.choices import choice
from broadsheet.services.paging import page_marker
from broadsheet.settings import Settings
from broadsheet.tracking.links import tracked_links

STARTABLE = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)


AUDIENCES = {
    audiences.EVERYONE: "Every active reader",
    audiences.CHOSEN: "The active readers its rules choose (newsletters, tags)",
}
MAX_TEST_ADDRESSES = 10
KEEP: Any = object()  # update_draft: the audience stays as it is


def create_campaign(
    session: Session,
    article_id: object,
    subject: object = None,
    *,
    preheader: object = None,
    audience: object = "everyone",
    tracking: object = True,
) -> Campaign:
    """A draft campaign for an article; the subject defaults to the article's title and the
    preheader (the preview line inboxes show) to its dek, and `tracking` (opens and clicks)
    is the caller's default, TRACKING. Every problem is reported at once."""
    errors: dict[str, str] = {}
    article = None
    if not isinstance(article_id, int) or isinstance(article_id, bool):
        errors["article_id"] = "must be the integer id of an article"
    elif as_id(article_id) is None or (article := session.get(Article, article_id)) is None:
        errors["article_id"] = f"article {article_id} does not exist"
    subject, preheader = _texts(errors, subject, preheader)
    kind, rules = audiences.EVERYONE, None
    try:
        kind, rules = audiences.check_audience(session, audience)
    except ValidationError as exc:
        errors.update(exc.fields)
    if not isinstance(tracking, bool):
        errors["tracking"] = "must be true or false"
    if errors:
        raise ValidationError(errors)
    assert article is not None
    campaign = Campaign(
        article=article,
        article_id=article.id,
        subject=subject or article.title,
        preheader=article.dek if preheader is None else preheader,
        tracking=bool(tracking),
    )
    _aim(session, campaign, kind, rules)
    session.add(campaign)
    session.flush()
    return campaign


def _aim(session: Session, campaign: Campaign, kind: str, rules: dict[str, Any] | None) -> None:
    """Give the campaign the audience `check_audience` made: its own rules, and the segment
    it reads by reference until its send starts."""
    own = dict(rules or {})
    segment_id = own.pop(audience_freeze.SEGMENT, None)
    campaign.audience = kind
    campaign.segment = session.get(Segment, segment_id) if segment_id is not None else None
    campaign.segment_id = segment_id
    campaign.audience_rules = own or None


def update_draft(
    session: Session,
    campaign_id: int,
    *,
    subject: object,
    preheader: object,
    audience: object = KEEP,
) -> Campaign:
    """Change the subject, preheader and (when given) audience of a campaign not yet
    started, every problem at once; its stored rendering is dropped, so the next preview
    (and the send) are made from the new text, and from the newsletter it now comes from."""
    errors: dict[str, str] = {}
    subject, preheader = _texts(errors, subject, preheader)
    if not subject:
        errors["subject"] = "is required"
    aim = None
    if audience is not KEEP:
        try:
            aim = audiences.check_audience(session, audience)
        except ValidationError as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationError(errors)
    campaign = get_campaign(session, campaign_id)
    if campaign.status not in STARTABLE:
        raise Conflict(
            f"campaign {campaign_id} is {campaign.status.value}; it can no longer change"
        )
    campaign.subject, campaign.preheader = subject, preheader or ""
    if aim is not None:
        _aim(session, campaign, *aim)
    campaign.rendered_html = campaign.rendered_text = None
    campaign.tracking_links = None
    session.flush()
    return campaign


def set_tracking(session: Session, campaign_id: int, tracking: object) -> Campaign:
    """Turn a campaign's open and click tracking on or off while it is a draft or scheduled;
    ValidationError on `tracking` for anything but a boolean, Conflict once it has started."""
    if not isinstance(tracking, bool):
        raise ValidationError({"tracking": "must be true or false"})
    campaign = get_campaign(session, campaign_id)
    if campaign.status not in STARTABLE and campaign.tracking != tracking:
        raise Conflict(
            f"campaign {campaign_id} is {campaign.status.value}; its tracking can no longer change"
        )
    campaign.tracking = tracking
    session.flush()
    return campaign


def article_choices(session: Session, chosen: object = None, limit: int = 30) -> list[Article]:
    """The latest articles, newest first, to make a campaign from; the article `chosen` (an
    id, as a page link gives it) comes first when it is older than those."""
    latest = list(session.scalars(select(Article).order_by(Article.id.desc()).limit(limit)))
    wanted = as_id(chosen)
    if wanted is None or any(article.id == wanted for article in latest):
        return latest
    older = session.get(Article, wanted)
    return [older, *latest] if older is not None else latest


def check_future(when: datetime, field: str = "at", now: datetime | None = None) -> datetime:
    """`when` if it is still to come; ValidationError on `field` otherwise."""
    if when <= (now or utcnow()):
        raise ValidationError({field: "is in the past; choose a time still to come"})
    return when


def audience_size(session: Session, audience: str, rules: dict[str, Any] | None = None) -> int:
    """How many readers a campaign for `audience` (and its rules) would go to if it started
    now."""
    condition = audiences.readers_condition(audience, rules)
    return session.scalar(select(func.count()).select_from(Subscriber).where(condition)) or 0


def readers_now(session: Session, campaign: Campaign) -> int:
    """How many readers the campaign would go to if it started now: its segment, while it
    waits, as the segment is now."""
    return audience_size(session, campaign.audience, audience_freeze.rules_of(campaign))


def count_audience(session: Session, audience: object) -> int:
    """How many readers an audience as `create_campaign` takes it would hold now (the count a
    form shows before saving); ValidationError as `create_campaign` would raise."""
    kind, rules = audiences.check_audience(session, audience)
    return audience_size(session, kind, audience_freeze.with_segment(session, rules))


def newsletter_choices(session: Session) -> list[tuple[Newsletter, int]]:
    """The newsletters the admin's campaign form offers, each with how many active readers
    it holds now (one count each: a publication has a handful)."""
    return [
        (n, audience_size(session, audiences.CHOSEN, {audiences.NEWSLETTERS: [n.id]}))
        for n in newsletters.list_newsletters(session)
    ]


def audience_from_form(chosen: Sequence[str], segment: str) -> object:
    """The admin form's ticked newsletters (slugs) and saved segment (a name, or empty) as
    `create_campaign` takes an audience: neither, every active reader."""
    audience: dict[str, object] = {}
    if chosen:
        audience[audiences.NEWSLETTERS] = list(chosen)
    if segment:
        audience[audience_freeze.SEGMENT] = segment
    return audience or audiences.EVERYONE


def audience_of(campaign: Campaign) -> tuple[list[int], str]:
    """What the admin form shows ticked and chosen for a campaign: its own newsletters' ids
    and its segment's name (empty for none)."""
    own = campaign.audience_rules or {}
    segment = campaign.segment.name if campaign.segment is not None else ""
    return list(own.get(audiences.NEWSLETTERS, [])), segment


def recipients_for_test(raw: object) -> list[str]:
    """Addresses typed for a test send (commas, spaces or new lines between), checked: one to
    MAX_TEST_ADDRESSES, each valid; ValidationError on `addresses` naming the bad ones."""
    parts = raw.replace(",", " ").replace(";", " ").split() if isinstance(raw, str) else []
    if not parts:
        raise ValidationError({"addresses": "give at least one address to send the test to"})
    addresses, bad = [], []
    for part in dict.fromkeys(parts):
        try:
            addresses.append(check_address(part, "addresses").email)
        except ValidationError:
            bad.append(part)
    if bad:
        shown = ", ".join(bad[:3]) + ("…" if len(bad) > 3 else "")
        raise ValidationError({"addresses": f"these are not email addresses: {shown}"})
    if len(addresses) > MAX_TEST_ADDRESSES:
        many = f"at most {MAX_TEST_ADDRESSES} addresses at a time ({len(addresses)} given)"
        raise ValidationError({"addresses": many})
    return addresses


def _texts(errors: dict[str, str], subject: object, preheader: object) -> tuple[str, str | None]:
    """The subject and preheader, cleaned to one line; problems added to `errors`."""
    cleaned = []
    for field, value in (("subject", subject), ("preheader", preheader)):
        try:
            cleaned.append(
                clean_name(value, field=field, max_length=300) if value is not None else None
            )
        except ValidationError as exc:
            errors.update(exc.fields)
            cleaned.append("")
    if cleaned[0] and (bad := personal.problems(cleaned[0], html_escaped=False)):
        errors["subject"] = personal.explain(bad)
    return cleaned[0] or "", cleaned[1]


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} does not exist")
    return campaign


def prepare(session: Session, campaign: Campaign, settings: Settings) -> Campaign:
    """Render the campaign's email and inline its CSS once, leaving placeholders for the
    personal fields, and store it on the campaign: every message (and every preview) is made
    from this stored rendering. Does nothing when it is stored already."""
    if campaign.rendered_html is None or campaign.rendered_text is None:
        campaign.identity = newsletters.identity_for(session, campaign, settings)
        rendered = render_campaign(campaign, settings)
        campaign.rendered_html, campaign.rendered_text = rendered.html, rendered.text
        campaign.tracking_links = None
    if campaign.tracking_links is None:
        # The links a tracked message's clicks may lead to, by index: the same function the
        # skeleton wraps them with, over the same HTML (broadsheet/tracking/links.py).
        campaign.tracking_links = tracked_links(campaign.rendered_html, settings.public_url)
    session.flush()
    return campaign


def record_link_report(session: Session, campaign_id: int, report: Mapping[str, Any]) -> bool:
    """Keep the worker's latest link check on the campaign for the pre-send checks, replacing
    the one before; False when the campaign no longer exists."""
    result = session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id)
        .values(link_report=dict(report))
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


def start_send(session: Session, campaign_id: int) -> Campaign:
    """Move a draft or scheduled campaign to `sending`; a second caller gets Conflict."""
    return _move(session, campaign_id, STARTABLE, CampaignStatus.SENDING, started_at=utcnow())


def schedule(
    session: Session, campaign_id: int, at: object, *, now: datetime | None = None
) -> Campaign:
    """Have the scheduler start a draft campaign at `at`, an ISO 8601 time with a timezone, in
    the future. A scheduled campaign can be scheduled again, unscheduled, sent or cancelled."""
    when = _future_time(at, now or utcnow())
    return _move(session, campaign_id, STARTABLE, CampaignStatus.SCHEDULED, scheduled_at=when)


def unschedule(session: Session, campaign_id: int) -> Campaign:
    """Take a scheduled campaign back to draft; Conflict once the scheduler has started it."""
    sources = (CampaignStatus.SCHEDULED,)
    return _move(session, campaign_id, sources, CampaignStatus.DRAFT, scheduled_at=None)


def start_due(session: Session, now: datetime | None = None) -> list[int]:
    """Move every scheduled campaign whose time has come to `sending`; returns their ids, for
    the caller to enqueue after commit. One conditional UPDATE, like `_move`: of two ticks
    racing, each campaign is started by exactly one."""
    now = now or utcnow()
    started = session.scalars(
        update(Campaign)
        .where(Campaign.status == CampaignStatus.SCHEDULED, Campaign.scheduled_at <= now)
        .values(status=CampaignStatus.SENDING, started_at=now)
        .returning(Campaign.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(started)


def delivery_counts(session: Session, campaign_id: int, *, live: bool = False) -> dict[str, int]:
    """Deliveries by current status, each counted once, plus `total`: as pages show them
    (a large campaign's kept counts, see broadsheet.services.progress), or `live`."""
    return counts_by_campaign(session, [campaign_id], live=live)[campaign_id]


def counts_by_campaign(
    session: Session, campaign_ids: Sequence[int], *, live: bool = False
) -> dict[int, dict[str, int]]:
    """`delivery_counts` for many campaigns in one query (a list page is one query, not N)."""
    if live:
        return progress.count(session, campaign_ids)
    return progress.shown(session, campaign_ids)


def list_campaigns(
    session: Session, *, status: object = None, before: object = None, limit: int = 50
) -> list[Campaign]:
    """Campaigns newest first, `limit` at a time, optionally in one `status`. Keyset paging:
    `before` is the id of the last campaign of the previous page (ids grow with creation)."""
    query = select(Campaign).order_by(Campaign.id.desc()).limit(limit)
    if status not in (None, ""):
        query = query.where(Campaign.status == choice(CampaignStatus, status, "status"))
    if before not in (None, ""):
        query = query.where(Campaign.id < page_marker(before))
    return list(session.scalars(query))


def pause(session: Session, campaign_id: int, reason: str = "paused by an operator") -> Campaign:
    """Stop a sending campaign; batches in flight stop within a few messages. Rows not sent
    stay queued, so resume() neither skips nor repeats anyone."""
    sources = (CampaignStatus.SENDING,)
    return _move(session, campaign_id, sources, CampaignStatus.PAUSED, pause_reason=reason)


def resume(session: Session, campaign_id: int) -> Campaign:
    """Send the rest of a paused campaign (the caller enqueues its batches after commit).
    Resuming is a fresh decision to send: the rows still queued count their age
    (RETRY_MAX_AGE) from now, so a long pause does not use up their retries."""
    sources = (CampaignStatus.PAUSED,)
    campaign = _move(session, campaign_id, sources, CampaignStatus.SENDING, pause_reason=None)
    session.execute(
        update(Delivery)
        .where(Delivery.campaign_id == campaign_id, Delivery.status == DeliveryStatus.QUEUED)
        .values(queued_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return campaign


def cancel(session: Session, campaign_id: int) -> Campaign:
    """Give up a campaign that has not finished; rows not sent stay `queued` for the record.
    A segment it was waiting on is frozen into it, as the start would have."""
    open_states = (*STARTABLE, CampaignStatus.SENDING, CampaignStatus.PAUSED)
    campaign = _move(
        session, campaign_id, open_states, CampaignStatus.CANCELLED, finished_at=utcnow()
    )
    audience_freeze.freeze(session, campaign)
    return campaign


def freeze_audience(session: Session, campaign: Campaign, settings: Settings) -> None:
    """As the send starts, before planning: the segment the campaign waited on is frozen
    into it (audiences.freeze); when that changes who its messages come from (the segment
    now names another newsletter than at the last preview), its stored rendering is dropped
    for `prepare` to make again."""
    if not audience_freeze.freeze(session, campaign) or campaign.identity is None:
        return
    if campaign.identity != newsletters.identity_for(session, campaign, settings):
        campaign.rendered_html = campaign.rendered_text = None
        session.flush()


def retry_failed(session: Session, campaign_id: int) -> int:
    """Queue a campaign's failed deliveries again (readers who left are skipped at claim
    time) and reopen it; returns how many were queued. Each gets a fresh retry budget: its
    attempts start again from zero and its age (RETRY_MAX_AGE) from now."""
    # Lock the campaign first: a batch finishing at this moment (complete_if_done) then either
    # completes it before us, and we reopen it, or waits and sees our queued rows.
    session.execute(select(Campaign.id).where(Campaign.id == campaign_id).with_for_update())
    campaign = session.get(Campaign, campaign_id, populate_existing=True)
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} does not exist")
    if campaign.status not in (CampaignStatus.SENDING, CampaignStatus.PAUSED, CampaignStatus.SENT):
        raise Conflict(f"campaign {campaign_id} is {campaign.status.value}; nothing to retry")
    result = session.execute(
        update(Delivery)
        .where(Delivery.campaign_id == campaign_id, Delivery.status == DeliveryStatus.FAILED)
        .values(
            status=DeliveryStatus.QUEUED,
            attempts=0,
            next_attempt_at=None,
            queued_at=utcnow(),
            suppressed=False,  # a reader who is still gone is suppressed again at claim time
        )
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) and campaign.status == CampaignStatus.SENT:
        campaign.status, campaign.finished_at = CampaignStatus.SENDING, None
    session.flush()
    return rowcount(result)


def pause_if_failing(
    session: Session, campaign_id: int, *, rate: float, after: int, notify_admins: bool = False
) -> str | None:
    """Pause a sending campaign whose failure rate passed `rate` once `after` deliveries were
    tried; returns the reason when it did. Readers who left before their turn (failed as
    suppressed, never offered to the relay) count neither as tried nor as failed.
    `notify_admins` (NOTIFY_ADMINS): each admin is owed a report, in the pause's transaction
    (an operator's pause, `pause`, owes none: they know)."""
    counts = delivery_counts(session, campaign_id, live=True)
    suppressed = session.execute(
        select(func.count()).where(
            Delivery.campaign_id == campaign_id,
            Delivery.status == DeliveryStatus.FAILED,
            Delivery.suppressed.is_(True),
        )
    ).scalar_one()
    failed = counts["failed"] - suppressed + counts["bounced"]
    tried = counts["sent"] + counts["unknown"] + failed
    if tried < after or failed <= rate * tried:
        return None
    reason = f"paused automatically: {failed} of {tried} deliveries failed (limit {rate:.0%})"
    try:
        pause(session, campaign_id, reason)
    except Conflict:
        return None
    if notify_admins:
        admin_reports.queue_reports(session, OutboxKind.CAMPAIGN_PAUSED, [campaign_id])
    return reason


def _future_time(value: object, now: datetime) -> datetime:
    """An ISO 8601 date-time with a timezone, later than `now`, in UTC; ValidationError on `at`."""
    example = "an ISO 8601 date-time with a timezone, such as 2026-12-01T07:00:00Z"
    if not isinstance(value, str) or len(value) > 64:
        raise ValidationError({"at": f"must be {example}"})
    try:
        when = datetime.fromisoformat(value.strip())
        if when.utcoffset() is None:
            raise ValidationError({"at": f"has no timezone; must be {example}"})
        when = when.astimezone(UTC)
    except (ValueError, OverflowError) as exc:  # OverflowError: year 1 moved to UTC
        raise ValidationError({"at": f"must be {example}"}) from exc
    if when <= now:
        raise ValidationError({"at": f"is in the past ({when.isoformat()}); must be in the future"})
    return when


def _move(
    session: Session,
    campaign_id: int,
    sources: tuple[CampaignStatus, ...],
    target: CampaignStatus,
    **values: object,
) -> Campaign:
    """Change status (and `values`) atomically from one of `sources`, so of racing callers
    exactly one wins, on SQLite and PostgreSQL alike; Conflict (409) from any other status."""
    result = session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status.in_(sources))
        .values(status=target, **values)
        .execution_options(synchronize_session=False)
    )
    campaign = get_campaign(session, campaign_id)
    if rowcount(result) != 1:
        raise Conflict(
            f"campaign {campaign_id} is {campaign.status.value}; cannot make it {target}"
        )
    session.refresh(campaign)
    return campaign
