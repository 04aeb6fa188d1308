"""The public archive: the issues readers may browse, newest first, per newsletter too.

An issue is an article as it went out in a `sent` campaign, listed once, at its newest send
readers may see: a campaign to "everyone" (which belongs to every public newsletter), or to
newsletters of which at least one is public. A campaign only to private newsletters is never
listed, and a private newsletter has no archive.

Why it stays fast with many campaigns: the listing walks the index
`ix_campaigns_status_finished_at_id` (status, finished_at, id) backwards from the page's
marker, reading `SCAN` campaigns at a time, until a page is full. A campaign becomes `sent`
in the statement that sets its `finished_at` (ledger.complete_if_done), so `finished_at` is
when it was sent and is never empty for a sent one. The audience lives in a JSON column, so
whether a campaign is visible is decided here, in Python, against the few public newsletter
ids; an article shows at its newest visible send, checked with one query per batch over
`campaigns.article_id`'s index. No OFFSET, no count: a page costs the same deep in the past.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from broadsheet.errors import NotFound, ValidationError
from broadsheet.models import Article, Campaign, CampaignStatus, Newsletter
from broadsheet.services.audiences import NEWSLETTERS
from broadsheet.services.paging import page_marker

PAGE = 20
# Campaigns read per step of the walk: a page's worth and some, for those skipped.
SCAN = 100
# What a line of the archive needs: never the campaign's stored email, which is large.
LISTED = (
    Campaign.id, Campaign.article_id, Campaign.finished_at, Campaign.audience,
    Campaign.audience_rules, Article.slug, Article.title, Article.dek, Article.author,
    Article.created_at, Article.updated_at,
)  # fmt: skip


@dataclass(frozen=True)
class Issue:
    """One line of the archive: the article as sent, and the campaign that placed it here
    (its id is the page marker, `?before=`)."""

    campaign_id: int
    sent_at: datetime
    slug: str
    title: str
    dek: str
    author: str
    created_at: datetime
    updated_at: datetime


def public_newsletter(session: Session, slug: object) -> Newsletter:
    """The public newsletter at `slug`; NotFound for an unknown or private one (the same
    answer, so the archive does not tell that a private newsletter exists)."""
    found = None
    if isinstance(slug, str) and "\x00" not in slug:
        query = select(Newsletter).where(Newsletter.slug == slug, Newsletter.public)
        found = session.scalar(query)
    if found is None:
        raise NotFound(f"there is no public newsletter called {slug!r}")
    return found


def public_newsletters(session: Session) -> list[Newsletter]:
    """The newsletters with an archive of their own, the default first, then by name."""
    query = select(Newsletter).where(Newsletter.public)
    return list(session.scalars(query.order_by(Newsletter.is_default.desc(), Newsletter.name)))


def list_issues(
    session: Session,
    *,
    newsletter: Newsletter | None = None,
    before: object = None,
    limit: int = PAGE,
) -> list[Issue]:
    """Sent issues newest first, each article once (at its newest send listed here), only
    those readers may see: of `newsletter` if given (a public one), else of any public
    newsletter or everyone. Keyset paging: `before` is the `campaign_id` of the last issue of
    the page before (ValidationError on `before` if it is not a listed issue's)."""
    wanted = {newsletter.id} if newsletter else _public_ids(session)
    after = _marker(session, before)
    issues: list[Issue] = []
    while len(issues) < limit:
        rows = _sent_campaigns(session, after)
        if not rows:
            break
        newest = _newest_visible(session, {row.article_id for row in rows}, wanted)
        for row in rows:
            if newest.get(row.article_id) == row.id:
                issues.append(_issue(row))
                if len(issues) == limit:
                    break
        after = (rows[-1].finished_at, rows[-1].id)
    return issues


def _public_ids(session: Session) -> set[int]:
    return set(session.scalars(select(Newsletter.id).where(Newsletter.public)))


def _marker(session: Session, before: object) -> tuple[datetime, int] | None:
    """Where the page starts: just below the sent campaign `before` names."""
    if before in (None, ""):
        return None
    marker = page_marker(before)
    sent_at = session.scalar(
        select(Campaign.finished_at).where(
            Campaign.id == marker, Campaign.status == CampaignStatus.SENT
        )
    )
    if sent_at is None:
        raise ValidationError({"before": "must be the number of an issue in the archive"})
    return sent_at, marker


def _sent_campaigns(session: Session, after: tuple[datetime, int] | None) -> list[Any]:
    """The next SCAN sent campaigns below `after` in (finished_at, id) order, with their
    article's fields."""
    query = (
        select(*LISTED)
        .join(Article, Article.id == Campaign.article_id)
        .where(Campaign.status == CampaignStatus.SENT)
        .order_by(Campaign.finished_at.desc(), Campaign.id.desc())
        .limit(SCAN)
    )
    if after is not None:
        last, marker = after
        query = query.where(
            or_(
                Campaign.finished_at < last,
                and_(Campaign.finished_at == last, Campaign.id < marker),
            )
        )
    return list(session.execute(query))


def _newest_visible(session: Session, article_ids: set[int], wanted: set[int]) -> dict[int, int]:
    """For each article, the id of its newest sent campaign that `wanted` readers may see."""
    query = (
        select(Campaign.id, Campaign.article_id, Campaign.audience, Campaign.audience_rules)
        .where(Campaign.article_id.in_(article_ids), Campaign.status == CampaignStatus.SENT)
        .order_by(Campaign.finished_at.desc(), Campaign.id.desc())
    )
    newest: dict[int, int] = {}
    for row in session.execute(query):
        if row.article_id not in newest and _visible(row.audience, row.audience_rules, wanted):
            newest[row.article_id] = row.id
    return newest


def _visible(audience: str, rules: dict[str, Any] | None, wanted: set[int]) -> bool:
    """Whether a campaign belongs in an archive of the newsletters `wanted`: one to everyone
    does; one to newsletters does when one of them is wanted."""
    if audience != NEWSLETTERS:
        return True
    chosen = (rules or {}).get(NEWSLETTERS) or []
    return any(n in wanted for n in chosen)


def _issue(row: Any) -> Issue:
    return Issue(
        campaign_id=row.id, sent_at=row.finished_at, slug=row.slug, title=row.title,
        dek=row.dek, author=row.author, created_at=row.created_at, updated_at=row.updated_at,
    )  # fmt: skip
