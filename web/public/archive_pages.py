"""The archive's pages: the list of sent issues (all, or one newsletter's), its Atom feed, and
one issue's web edition. The queries are broadsheet.services.archive's; this file reads the
query string and renders."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlencode

from flask import current_app, render_template, request
from flask.typing import ResponseReturnValue

from broadsheet.errors import ValidationError
from broadsheet.mail.compose import archive_url
from broadsheet.models import Newsletter
from broadsheet.services.archive import (
    PAGE,
    Issue,
    list_issues,
    public_newsletter,
    public_newsletters,
    web_edition,
)
from broadsheet.settings import Settings
from web.db import session

FEED_SIZE = 20
# Characters XML 1.0 cannot hold at all, even escaped; an article title could carry one.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _settings() -> Settings:
    settings: Settings = current_app.config["BROADSHEET"]
    return settings


def _chosen() -> Newsletter | None:
    """The newsletter `?newsletter=` names (404 for an unknown or private one), or None."""
    slug = request.args.get("newsletter", "")
    return public_newsletter(session(), slug) if slug else None


def index() -> ResponseReturnValue:
    """Past issues, newest first, a page at a time (`?before=` the last one's number)."""
    newsletter = _chosen()
    before = request.args.get("before", "")
    try:
        issues = list_issues(session(), newsletter=newsletter, before=before)
    except ValidationError:
        page = render_template("public/archive_bad_page.html", before=before[:40])
        return page, 400
    older: dict[str, object] | None = None
    if len(issues) == PAGE:
        older = {"before": issues[-1].campaign_id}
        if newsletter:
            older["newsletter"] = newsletter.slug
    return render_template(
        "public/archive_index.html",
        issues=issues,
        newsletter=newsletter,
        newsletters=public_newsletters(session()),
        older=older,
        first_page=not before,
    )


def feed() -> ResponseReturnValue:
    """The latest issues as an Atom 1.0 feed: absolute links from PUBLIC_URL, ids that never
    change (a tag URI from the host and the article's slug, which never changes either)."""
    newsletter = _chosen()
    issues = list_issues(session(), newsletter=newsletter, limit=FEED_SIZE)
    base = _settings().public_url
    query = f"?{urlencode({'newsletter': newsletter.slug})}" if newsletter else ""
    host = re.sub(r"^https?://", "", base).split("/")[0].split(":")[0]
    entries = [_entry(host, issue) for issue in issues]
    updated = max((e["updated"] for e in entries), default=_stamp(datetime.now(UTC)))
    body = render_template(
        "public/archive_feed.xml",
        title=_xml_text(newsletter.name if newsletter else ""),
        subtitle=_xml_text(newsletter.description if newsletter else ""),
        self_url=f"{base}/archive/feed.atom{query}",
        html_url=f"{base}/archive{query}",
        updated=updated,
        entries=entries,
    )
    return body, 200, {"Content-Type": "application/atom+xml; charset=utf-8"}


def _entry(host: str, issue: Issue) -> dict[str, str]:
    return {
        "id": f"tag:{host},{issue.created_at:%Y-%m-%d}:archive/{issue.slug}",
        "url": archive_url(_settings(), issue.slug),
        "title": _xml_text(issue.title),
        "summary": _xml_text(issue.dek),
        "author": _xml_text(issue.author),
        "published": _stamp(issue.sent_at),
        "updated": _stamp(max(issue.sent_at, issue.updated_at)),
    }


def _stamp(moment: datetime) -> str:
    """An RFC 3339 time in UTC, as Atom wants."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _xml_text(text: str) -> str:
    return NOT_XML.sub("", text)


def article(slug: str) -> ResponseReturnValue:
    """One sent issue's web edition; one sent only to private newsletters takes `?key=` (its
    emails' link carries it), and is then kept out of search engines and caches."""
    edition = web_edition(session(), slug, request.args.get("key"), _settings().secret_key)
    page = render_template("public/archive.html", article=edition.article, private=edition.private)
    if not edition.private:
        return page
    return page, 200, {
        "X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer", "Cache-Control": "private",
    }  # fmt: skip
