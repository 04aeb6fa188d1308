"""The admin at /admin/: editors write and send, operators watch delivery, admins manage
people and API tokens. Server-rendered pages in the family of the reader pages.

One blueprint per section, nested under `admin`. The `admin` blueprint sends anyone not
signed in to the sign-in page; each section checks rights in one `before_request`
(web/access.py). Views are thin: they call broadsheet/services, which take the session.
"""

from __future__ import annotations

from flask import Blueprint, Flask, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from broadsheet.access import Right
from web.access import SAFE_METHODS
from web.admin import (
    articles,
    auth,
    campaign_deliveries,  # noqa: F401  (its routes join the campaigns section)
    campaigns,
    feeds,
    home,
    newsletters,
    publication,
    reader_imports,  # noqa: F401  (its routes join the subscribers section)
    reports,
    segments,
    subscribers,
    tokens,
    tracking,
    users,
)
from web.errors import error_response, in_admin
from web.extensions import csrf

bp = Blueprint(
    "admin",
    __name__,
    url_prefix="/admin",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
OPEN = {"admin.auth.login_form", "admin.auth.login", "admin.static"}
SECTIONS = (
    auth.bp,
    home.bp,
    articles.bp,
    campaigns.bp,
    tracking.bp,
    subscribers.bp,
    newsletters.bp,
    segments.bp,
    feeds.bp,
    reports.bp,
    users.bp,
    tokens.bp,
    publication.bp,
)
for _section in SECTIONS:
    bp.register_blueprint(_section)


def init_app(app: Flask) -> None:
    auth.init_app(app)
    for section in (bp, *SECTIONS):
        csrf.exempt(section)  # checked below, once the caller is known to be signed in
    app.register_blueprint(bp)
    app.context_processor(_navigation)


@bp.before_request
def _sign_in_first() -> ResponseReturnValue | None:
    """Anyone not signed in goes to the sign-in page, whatever they asked for; every post
    (sign-in included) then needs the form's CSRF token."""
    if request.endpoint not in OPEN and not current_user.is_authenticated:
        back = request.full_path.rstrip("?") if request.method in SAFE_METHODS else ""
        return redirect(url_for("admin.auth.login_form", next=back or None))
    if request.method not in SAFE_METHODS:
        csrf.protect()
    return None


@bp.errorhandler(CSRFError)
def _form_expired(exc: CSRFError) -> ResponseReturnValue:
    message = (
        "this form has expired (the page was open for long, or you signed in again "
        "elsewhere); go back, reload the page and send it again"
    )
    return error_response(400, message)


def _navigation() -> dict[str, object]:
    """The sections a signed-in person may open, for the admin's header."""
    if not in_admin():
        return {}
    if not current_user.is_authenticated:
        return {"admin_nav": []}
    sections = [
        ("admin.home.index", "Home", Right.READ),
        ("admin.articles.index", "Articles", Right.READ),
        ("admin.campaigns.index", "Campaigns", Right.READ),
        ("admin.subscribers.index", "Subscribers", Right.READ),
        ("admin.newsletters.index", "Newsletters", Right.READ),
        ("admin.segments.index", "Segments", Right.READ),
        ("admin.feeds.index", "Feeds", Right.READ),
        ("admin.reports.index", "Reports", Right.READ),
        ("admin.users.index", "People", Right.MANAGE),
        ("admin.tokens.index", "API tokens", Right.MANAGE),
        ("admin.publication.show", "Publication", Right.MANAGE),
    ]
    return {"admin_nav": [(ep, label) for ep, label, right in sections if current_user.can(right)]}
