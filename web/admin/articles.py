"""The admin's articles: the list (newest first, searched by title, keyset pages), and a
Markdown editor for new and existing articles whose preview follows the typing (rendered on
the server by the same Markdown and sanitizer as every save and the API).

A form with errors comes back with 422, each error by its field and everything typed kept.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user

from broadsheet.access import Right
from broadsheet.errors import ValidationError
from broadsheet.mail.compose import issue_url
from broadsheet.models import Article, CampaignStatus
from broadsheet.services import articles
from broadsheet.services.paging import page_size
from web.access import guard
from web.admin.auth import current_role
from web.admin.forms import posted
from web.admin.times import local_to_utc, utc_to_local, zone_named
from web.db import session

bp = Blueprint("articles", __name__, url_prefix="/articles")
# Reading takes READ (operators may read articles), changing EDIT; so does the blank form.
guard(bp, current_role, rights={"new": Right.EDIT})
PAGE = 25
FIELDS = ("title", "dek", "author", "url", "published_at", "timezone", "body_markdown")
# Campaigns whose email is made already: editing the article no longer changes what they send.
STARTED = (CampaignStatus.SENDING, CampaignStatus.PAUSED, CampaignStatus.SENT)


@bp.get("")
def index() -> ResponseReturnValue:
    search = request.args.get("q", "").strip()
    limit = page_size(request.args.get("limit"), default=PAGE)
    page = articles.list_articles(session(), search, before=request.args.get("before"), limit=limit)
    return render_template(
        "admin/articles.html",
        page=page,
        search=search,
        next_before=page[-1].id if len(page) == limit else None,
    )


@bp.get("/new")
def new() -> ResponseReturnValue:
    form = dict.fromkeys(FIELDS, "")
    return _editor(None, form, {})


@bp.post("")
def create() -> ResponseReturnValue:
    form = posted(FIELDS)
    try:
        article = articles.create_article(session(), **_checked(form, None))
    except ValidationError as exc:
        return _editor(None, form, exc.fields), 422
    flash("Article saved. Make a campaign from it when it is ready to send.", "success")
    return redirect(url_for("admin.articles.edit", article_id=article.id), 303)


@bp.get("/<int:article_id>")
def edit(article_id: int) -> ResponseReturnValue:
    article = articles.get_article(session(), article_id)
    form = {  # as the form shows it; the time in UTC until the page's script makes it local
        "title": article.title,
        "dek": article.dek,
        "author": article.author,
        "url": article.canonical_url or "",
        "published_at": utc_to_local(article.published_at, zone_named("UTC")),
        "timezone": "UTC",
        "body_markdown": article.body_markdown,
    }
    return _editor(article, form, {}, stored=True)


@bp.post("/<int:article_id>")
def update(article_id: int) -> ResponseReturnValue:
    article = articles.get_article(session(), article_id)
    form = posted(FIELDS)
    try:
        articles.update_article(session(), article_id, **_checked(form, article))
    except ValidationError as exc:
        return _editor(article, form, exc.fields), 422
    flash("Saved.", "success")
    return redirect(url_for("admin.articles.edit", article_id=article_id), 303)


@bp.post("/preview")
def preview() -> ResponseReturnValue:
    """The body as readers would see it, for the editor's live preview: JSON {html, words,
    minutes}. Takes the form field or a JSON body; the CSRF token in X-CSRFToken."""
    data = request.get_json(silent=True) if request.is_json else request.form
    markdown = data.get("body_markdown", "") if isinstance(data, Mapping) else None
    return jsonify(articles.preview_html(markdown))


def _checked(form: dict[str, str], article: Article | None) -> dict[str, object]:
    """The service's arguments from the form, the published time read in the editor's zone
    (an unchanged time is left alone, so its seconds survive). Every field is validated, so
    a bad time is reported together with the rest."""
    fields: dict[str, object] = {
        "title": form["title"],
        "body_markdown": form["body_markdown"],
        "dek": form["dek"],
        "author": form["author"],
        "url": form["url"].strip() or None,
        "published_at": None,
    }
    typed, zone = form["published_at"].strip(), zone_named(form["timezone"])
    if not typed or (article and typed == utc_to_local(article.published_at, zone)):
        return fields
    try:
        fields["published_at"] = local_to_utc(typed, zone, "published_at")
    except ValidationError as exc:
        try:
            articles.validate_article(**fields)
        except ValidationError as others:
            raise ValidationError({**others.fields, **exc.fields}) from None
        raise
    return fields


def _editor(
    article: Article | None, form: dict[str, str], errors: dict[str, str], stored: bool = False
) -> str:
    """The editor page: the form as typed (`stored`: as saved, its time in UTC for the
    page's script to show in the editor's zone), and the preview of its body."""
    campaigns = articles.article_campaigns(session(), article.id) if article else []
    try:
        preview = articles.preview_html(form["body_markdown"])
    except ValidationError:  # too long to show; the body's own error says so
        preview = None
    return render_template(
        "admin/article.html",
        article=article,
        form=form,
        errors=errors,
        preview=preview,
        campaigns=campaigns,
        sent=[c for c in campaigns if c.status in STARTED],
        can_edit=current_user.can(Right.EDIT),
        stored=stored,
        # With its key, as its emails link to it: an issue only private newsletters got opens.
        web_url=issue_url(current_app.config["BROADSHEET"], article) if article else None,
    )
