"""Articles: validated, rendered from Markdown once, and given a unique slug."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from broadsheet.errors import NotFound, ValidationError
from broadsheet.markdown import count_words, reading_minutes, render_markdown
from broadsheet.models import Article, Campaign, CampaignStatus, utcnow


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
    """Validate every field at once (all problems reported together) and store the article."""
    errors: dict[str, str] = {}
    title = _text(errors, "title", title, 300, required=True)
    body = _text(errors, "body_markdown", body_markdown, 500_000, required=True, one_line=False)
    dek = _text(errors, "dek", dek, 600)
    author = _text(errors, "author", author, 200)
    canonical = _url(errors, url)
    published = _datetime(errors, published_at)
    if errors:
        raise ValidationError(errors)
    words = count_words(body)
    article = Article(
        slug=_unique_slug(session, title),
        title=title,
        dek=dek,
        author=author,
        body_markdown=body,
        body_html=render_markdown(body),
        canonical_url=canonical,
        word_count=words,
        reading_minutes=reading_minutes(words),
        published_at=published or utcnow(),
    )
    session.add(article)
    session.flush()
    return article


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
