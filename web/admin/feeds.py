"""The admin's feeds: each feed with how its polls went, a form to add one, and its own page
to change where and how its campaigns go, pause or resume it, poll it now, or remove it.
Editors and admins change them; operators read. Thin over broadsheet/services/feeds.py."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from broadsheet.errors import Conflict, ValidationError
from broadsheet.feeds.polling import MAX_FAILURES
from broadsheet.models import Feed
from broadsheet.services import feeds, newsletters
from web import enqueue
from web.access import guard
from web.admin.auth import current_role
from web.admin.confirm import confirmed
from web.admin.forms import posted
from web.db import session

bp = Blueprint("feeds", __name__, url_prefix="/feeds")
guard(bp, current_role)
# The form's choice of what a new entry's campaign does, as the service takes it.
MODES = {"draft": False, "send": True}
MODE_CHOICES = [
    ("draft", "A draft, for an editor to send"),
    ("send", "Sent at once"),
]


@bp.get("")
def index() -> ResponseReturnValue:
    default = next(iter(newsletters.default_ids(session())), None)
    return _list({"url": "", "newsletter": _slug_of(default), "send_now": "draft"}, {})


@bp.post("")
def create() -> ResponseReturnValue:
    form = posted(("url", "newsletter", "send_now"))
    try:
        feed = feeds.create_feed(
            session(), form["url"], newsletter=form["newsletter"] or None,
            send_now=MODES.get(form["send_now"], form["send_now"]),
        )  # fmt: skip
    except ValidationError as exc:
        return _list(form, exc.fields), 422
    except Conflict:
        return _list(form, {"url": "is a feed already added"}), 409
    flash(f"{feed.url} is added; it is polled at the scheduler's next run.", "success")
    return redirect(url_for("admin.feeds.index"), 303)


@bp.get("/<int:feed_id>")
def show(feed_id: int) -> ResponseReturnValue:
    feed = feeds.get_feed(session(), feed_id)
    return _page(feed, {"newsletter": _slug_of(feed.newsletter_id), "send_now": _mode(feed)}, {})


@bp.post("/<int:feed_id>")
def update(feed_id: int) -> ResponseReturnValue:
    form = posted(("newsletter", "send_now"))
    try:
        feeds.update_feed(
            session(), feed_id, newsletter=form["newsletter"] or None,
            send_now=MODES.get(form["send_now"], form["send_now"]),
        )  # fmt: skip
    except ValidationError as exc:
        return _page(feeds.get_feed(session(), feed_id), form, exc.fields), 422
    flash("Saved. The feed's next entries go this way; campaigns already made keep theirs.")
    return redirect(url_for("admin.feeds.show", feed_id=feed_id), 303)


@bp.post("/<int:feed_id>/pause")
def pause(feed_id: int) -> ResponseReturnValue:
    feed = feeds.pause_feed(session(), feed_id)
    flash(f"{feed.url} is paused: it is not polled until you resume it.", "success")
    return redirect(_back(feed_id), 303)


@bp.post("/<int:feed_id>/resume")
def resume(feed_id: int) -> ResponseReturnValue:
    feed = feeds.resume_feed(session(), feed_id)
    flash(f"{feed.url} is polled again from the scheduler's next run.", "success")
    return redirect(_back(feed_id), 303)


@bp.post("/<int:feed_id>/poll")
def poll(feed_id: int) -> ResponseReturnValue:
    try:
        feed = feeds.feed_to_poll_now(session(), feed_id)
    except Conflict as exc:
        flash(f"Not polled: {exc}.", "error")
        return redirect(_back(feed_id), 303)
    enqueue.feed_poll(feed.id)
    flash(
        f"{feed.url} is being polled. Its new entries become articles and campaigns within "
        "a minute; reload to see how the poll went.",
        "success",
    )
    return redirect(_back(feed_id), 303)


@bp.post("/<int:feed_id>/delete")
def delete(feed_id: int) -> ResponseReturnValue:
    back = url_for("admin.feeds.show", feed_id=feed_id)
    feed = feeds.get_feed(session(), feed_id)
    made = feeds.articles_made(session(), feed_id)
    kept = (
        f"The {made:,} article{'s' if made != 1 else ''} and campaigns it made stay, as any "
        "article does."
        if made
        else "It has made no article yet."
    )
    answer = confirmed(
        f"Remove the feed {feed.url}?",
        f"It is no longer polled, and what it has seen is forgotten. {kept} Added again "
        "later, it starts afresh: its first poll takes only its newest entries.",
        "Remove the feed",
        back=back,
    )
    if answer is not None:
        return answer
    feeds.delete_feed(session(), feed_id)
    flash(f"{feed.url} is removed.", "success")
    return redirect(url_for("admin.feeds.index"), 303)


def _back(feed_id: int) -> str:
    """Where a button sends the editor back to: the list, or the feed's page."""
    if request.form.get("from") == "list":
        return url_for("admin.feeds.index")
    return url_for("admin.feeds.show", feed_id=feed_id)


def _list(form: dict[str, str], errors: dict[str, str]) -> str:
    return render_template(
        "admin/feeds.html", feeds=feeds.list_feeds(session()), form=form, errors=errors,
        **_newsletter_parts(),
    )  # fmt: skip


def _page(feed: Feed, form: dict[str, str], errors: dict[str, str]) -> str:
    return render_template(
        "admin/feed.html", feed=feed, articles_made=feeds.articles_made(session(), feed.id),
        form=form, errors=errors, **_newsletter_parts(),
    )  # fmt: skip


def _newsletter_parts() -> dict[str, object]:
    """The newsletters, read once for a whole page (no query per feed): names by id, and the
    form's choices."""
    every = newsletters.list_newsletters(session())
    return {
        "names": {n.id: n.name for n in every},
        "newsletter_choices": [(n.slug, n.name) for n in every],
        "everyone": ("", "Every active reader (no newsletter)"),
        "mode_choices": MODE_CHOICES,
        "max_failures": MAX_FAILURES,
    }


def _slug_of(newsletter_id: int | None) -> str:
    """A newsletter's slug by id, for a form's choice; "" (every active reader) for None."""
    every = newsletters.list_newsletters(session())
    return next((n.slug for n in every if n.id == newsletter_id), "")


def _mode(feed: Feed) -> str:
    return "send" if feed.send_now else "draft"
