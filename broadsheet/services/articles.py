"""Articles: validated, rendered from Markdown once per save, and given a unique slug that
never changes (the archive's links stay good when a title is edited)."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import TypedDict
from urllib.parse import urlsplit

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session

from broadsheet.errors import NotFound, ValidationError
from broadsheet.mail import personal
from broadsheet.markdown import count_words, reading_minutes, render_markdown
from broadsheet.models import Article, Campaign, CampaignStatus, utcnow
from broadsheet.services.paging import page_marker

MAX_BODY = 500_000
# Campaigns that have not started yet take an edited article's new text; the others keep the
# email they rendered (a sent message cannot change).
NOT_STARTED = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)


class ArticleFields(TypedDict):
    """An article's fields as `validate_article` cleans them up."""

    title: str
    body_markdown: str
    body_html: str  # rendered from body_markdown and sanitized, once
    dek: str
    author: str
    url: str | None
    published_at: datetime | None


def validate_article(
    *,
    title: object,
    body_markdown: object,
    dek: object = "",
    author: object = "",
    url: object = None,
    published_at: object = None,
) -> ArticleFields:
    """The fields cleaned up, every problem reported at once in one ValidationError (keyed
    by these argument names). `published_at` is an aware datetime or ISO 8601 text. A
    `{{ … }}` outside code that is not a reader field is refused (broadsheet.mail.personal)."""
    return _validated(title, body_markdown, dek, author, url, published_at, braces=True)


def create_article(
    session: Session,
    *,
    title: object,
    body_markdown: object,
    dek: object = "",
    author: object = "",
    url: object = None,
    published_at: object = None,
) -> Article:
    """Validate every field at once (validate_article) and store the article; without a
    published time it is published now."""
    fields = validate_article(
        title=title, body_markdown=body_markdown, dek=dek, author=author, url=url,
        published_at=published_at,
    )  # fmt: skip
    return _stored(session, fields)


def create_feed_article(
    session: Session,
    *,
    title: str,
    body_markdown: str,
    author: str,
    url: str | None,
    published_at: datetime,
) -> Article:
    """`create_article` for a feed's entry, whose braces are the blog's: never refused, so
    they cannot stop the feed (the draft's `reader-fields` check names any outside code)."""
    fields = _validated(title, body_markdown, "", author, url, published_at, braces=False)
    return _stored(session, fields)


def _validated(
    title: object, body_markdown: object, dek: object, author: object, url: object,
    published_at: object, *, braces: bool,
) -> ArticleFields:  # fmt: skip
    errors: dict[str, str] = {}
    fields: ArticleFields = {
        "title": _text(errors, "title", title, 300, required=True),
        "body_markdown": _text(
            errors, "body_markdown", body_markdown, MAX_BODY, required=True, one_line=False
        ),
        "body_html": "",
        "dek": _text(errors, "dek", dek, 600),
        "author": _text(errors, "author", author, 200),
        "url": _url(errors, url),
        "published_at": _datetime(errors, published_at),
    }
    if "body_markdown" not in errors:
        fields["body_html"] = render_markdown(fields["body_markdown"])
    # Read in the HTML the body becomes, where Markdown's code is marked as such.
    if braces and (bad := personal.problems(fields["body_html"], html_escaped=True)):
        errors["body_markdown"] = personal.explain(bad)
    if errors:
        raise ValidationError(errors)
    return fields


def _stored(session: Session, fields: ArticleFields) -> Article:
    article = Article(slug=_unique_slug(session, fields["title"]))
    _fill(article, fields)
    article.published_at = fields["published_at"] or utcnow()
    session.add(article)
    session.flush()
    return article


def update_article(
    session: Session,
    article_id: int,
    *,
    title: object,
    body_markdown: object,
    dek: object = "",
    author: object = "",
    url: object = None,
    published_at: object = None,
) -> Article:
    """Change an article, validated as create_article validates; without a published time it
    keeps its own, and its slug never changes. Campaigns not started yet forget their
    rendering, so their preview and send show the new text; started ones keep theirs."""
    article = get_article(session, article_id)
    fields = validate_article(
        title=title, body_markdown=body_markdown, dek=dek, author=author, url=url,
        published_at=published_at,
    )  # fmt: skip
    _fill(article, fields)
    if fields["published_at"] is not None:
        article.published_at = fields["published_at"]
    session.execute(
        update(Campaign)
        .where(Campaign.article_id == article_id, Campaign.status.in_(NOT_STARTED))
        .values(rendered_html=None, rendered_text=None)
        .execution_options(synchronize_session="fetch")
    )
    session.flush()
    return article


def get_article(session: Session, article_id: int) -> Article:
    article = session.get(Article, article_id)
    if article is None:
        raise NotFound(f"article {article_id} does not exist")
    return article


def list_articles(
    session: Session, search: str | None = None, before: object = None, limit: int = 50
) -> list[Article]:
    """Articles newest published first (ties by id), `limit` at a time, those whose title
    holds `search` (any case) if given. Keyset paging: `before` is the id of the last article
    of the page before; the page goes on below its (published_at, id). No OFFSET, no count."""
    query = select(Article).order_by(Article.published_at.desc(), Article.id.desc()).limit(limit)
    if search and search.strip():
        query = query.where(Article.title.icontains(" ".join(search.split()), autoescape=True))
    if before not in (None, ""):
        marker = page_marker(before)
        last = session.execute(
            select(Article.published_at).where(Article.id == marker)
        ).scalar_one_or_none()
        if last is None:
            raise ValidationError({"before": "must be the id of an article"})
        query = query.where(
            or_(
                Article.published_at < last,
                and_(Article.published_at == last, Article.id < marker),
            )
        )
    return list(session.scalars(query))


def article_campaigns(session: Session, article_id: int) -> list[Campaign]:
    """The campaigns made from an article, newest first."""
    query = select(Campaign).where(Campaign.article_id == article_id)
    return list(session.scalars(query.order_by(Campaign.id.desc())))


def preview_html(markdown: object) -> dict[str, object]:
    """What the article body looks like to readers: the same Markdown and sanitizer every
    save (and the API) uses, with the word count and reading time shown beside it."""
    errors: dict[str, str] = {}
    body = _text(errors, "body_markdown", markdown, MAX_BODY, one_line=False)
    if errors:
        raise ValidationError(errors)
    words = count_words(body)
    return {"html": render_markdown(body), "words": words, "minutes": reading_minutes(words)}


def _fill(article: Article, fields: ArticleFields) -> None:
    body = fields["body_markdown"]
    article.title = fields["title"]
    article.dek = fields["dek"]
    article.author = fields["author"]
    article.canonical_url = fields["url"]
    article.body_markdown = body
    article.body_html = fields["body_html"]
    article.word_count = count_words(body)
    article.reading_minutes = reading_minutes(article.word_count)


def get_sent_article(session: Session, slug: str) -> Article:
    """An article readers may see on the web: one whose campaign has started sending."""
    if "\x00" in slug:  # no slug holds NUL, and PostgreSQL refuses it instead of finding nothing
        raise NotFound(f"no published issue at {slug!r}")
    started = exists().where(
        Campaign.article_id == Article.id,
        Campaign.status.in_((CampaignStatus.SENDING, CampaignStatus.PAUSED, CampaignStatus.SENT)),
    )
    article = session.scalar(select(Article).where(Article.slug == slug, started))
    if article is None:
        raise NotFound(f"no published issue at {slug!r}")
    return article


def slugify(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    return slug[:100].rstrip("-") or "article"


def _unique_slug(session: Session, title: str) -> str:
    base = slugify(title)
    taken = set(session.scalars(select(Article.slug).where(Article.slug.like(f"{base}%"))))
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _text(
    errors: dict[str, str],
    field: str,
    value: object,
    max_length: int,
    *,
    required: bool = False,
    one_line: bool = True,
) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[field] = "must be a string"
        return ""
    value = " ".join(value.split()) if one_line else value.strip()
    if required and not value:
        errors[field] = "is required"
    elif len(value) > max_length:
        errors[field] = f"must be at most {max_length} characters"
    return value


def _url(errors: dict[str, str], value: object) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > 2000:
        errors["url"] = "must be an absolute http(s) URL of at most 2000 characters"
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        errors["url"] = "must be an absolute http(s) URL"
        return None
    return value.strip()


def _datetime(errors: dict[str, str], value: object) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            errors["published_at"] = "must be an ISO 8601 date-time with a timezone"
            return None
        if parsed.tzinfo is not None:
            return parsed
    errors["published_at"] = "must be an ISO 8601 date-time with a timezone"
    return None
