"""The public archive: the issues readers may browse, newest first, per newsletter too.

An issue is an article as it went out in a `sent` campaign, listed once, at its newest send
readers may see: a campaign to "everyone" (which belongs to every public newsletter), or to
newsletters of which at least one is public. A campaign only to private newsletters is never
listed, and a private newsletter has no archive.

Why it stays fast with many campaigns: a page is one query that walks the index
`ix_campaigns_status_finished_at_id` (status, finished_at, id) backwards from the page's
marker, a row comparison `(finished_at, id) < (marker's)` being the index's range, and stops
after `limit` rows: no OFFSET, no count, so a page deep in the past costs what the first does.
A campaign becomes `sent` in the statement that sets its `finished_at`
(ledger.complete_if_done), so `finished_at` is when it went out and never empty for a sent
one. Two checks ride on each row read: whether readers may see it (its newsletters' ids are a
JSON array, read with the database's JSON table function: a campaign to private newsletters
is read and passed over, so a run of them costs their number in index rows), and that its
article has no later visible send (an anti-join over `campaigns.article_id`'s index).

An issue's own page (`web_edition`) opens for anyone once a campaign of it has started, unless
every such campaign went only to private newsletters: that one opens only with the key its
emails' links carry (broadsheet.signing), and is otherwise not found, as if it did not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session, aliased

from broadsheet.errors import NotFound, ValidationError
from broadsheet.models import Article, Campaign, CampaignStatus, Newsletter
from broadsheet.services.articles import get_sent_article
from broadsheet.services.audiences import EVERYONE, NEWSLETTERS
from broadsheet.services.paging import page_marker
from broadsheet.signing import issue_key_opens

PAGE = 20
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


@dataclass(frozen=True)
class WebEdition:
    """An issue's page: its article, and whether it went only to private newsletters (then
    opened with its key, and kept out of search engines)."""

    article: Article
    private: bool


def web_edition(session: Session, slug: str, key: object, secret: str) -> WebEdition:
    """The issue at `slug` as readers may see it on the web (see the module); NotFound, the
    same as for no issue at all, for a private one without its key or with a bad one."""
    article = get_sent_article(session, slug)
    private = sent_only_to_private(session, article.id)
    if private and not (isinstance(key, str) and issue_key_opens(secret, key, article.id)):
        raise NotFound(f"no published issue at {slug!r}")
    return WebEdition(article, private)


def sent_only_to_private(session: Session, article_id: int) -> bool:
    """Whether every started campaign of the article went only to private newsletters: one to
    everyone, to readers chosen by tags or a segment alone, or to a public newsletter among
    others makes the issue public (as it was before newsletters could be private)."""
    started = session.execute(
        select(Campaign.audience, Campaign.audience_rules).where(
            Campaign.article_id == article_id,
            Campaign.status.in_(
                (CampaignStatus.SENDING, CampaignStatus.PAUSED, CampaignStatus.SENT)
            ),
        )
    ).all()
    chosen: set[int] = set()
    for audience, rules in started:
        ids = (rules or {}).get(NEWSLETTERS) or [] if audience != EVERYONE else []
        if not ids:
            return False
        chosen.update(ids)
    public = session.scalars(
        select(Newsletter.id).where(Newsletter.id.in_(chosen), Newsletter.public)
    ).first()
    return bool(started) and public is None


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
    the page before (ValidationError on `before` if it is not a sent campaign's)."""
    wanted = {newsletter.id} if newsletter else _public_ids(session)
    dialect = session.get_bind().dialect.name
    listed, newer = Campaign, aliased(Campaign)
    later_send = exists().where(
        newer.article_id == listed.article_id,
        newer.status == CampaignStatus.SENT,
        tuple_(newer.finished_at, newer.id) > tuple_(listed.finished_at, listed.id),
        _visible(newer, wanted, dialect),
    )
    query = (
        select(*LISTED)
        .join(Article, Article.id == listed.article_id)
        .where(listed.status == CampaignStatus.SENT, _visible(listed, wanted, dialect))
        .where(~later_send)
        .order_by(listed.finished_at.desc(), listed.id.desc())
        .limit(limit)
    )
    after = _marker(session, before)
    if after is not None:
        query = query.where(tuple_(listed.finished_at, listed.id) < tuple_(*after))
    return [_issue(row) for row in session.execute(query)]


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


def _visible(campaign: type[Campaign], wanted: set[int], dialect: str) -> ColumnElement[bool]:
    """Whether a campaign belongs in an archive of the newsletters `wanted`: one to everyone
    does; one whose rules choose newsletters does when one of them is wanted (their ids are a
    JSON array in `audience_rules`, read with each database's JSON table function); one
    chosen by tags or a segment alone, mail for some readers, never does."""
    everyone = campaign.audience == EVERYONE
    if not wanted:
        return everyone
    if dialect == "postgresql":
        ids = func.json_array_elements_text(campaign.audience_rules.op("->")(NEWSLETTERS))
        chosen = ids.table_valued("value")
        match = chosen.c.value.in_([str(n) for n in sorted(wanted)])
    else:  # SQLite's JSON1
        ids = func.json_each(campaign.audience_rules, f"$.{NEWSLETTERS}")
        chosen = ids.table_valued("value")
        match = chosen.c.value.in_(sorted(wanted))
    return or_(everyone, exists(select(literal(1)).select_from(chosen).where(match)))


def _issue(row: Any) -> Issue:
    return Issue(
        campaign_id=row.id, sent_at=row.finished_at, slug=row.slug, title=row.title,
        dek=row.dek, author=row.author, created_at=row.created_at, updated_at=row.updated_at,
    )  # fmt: skip
