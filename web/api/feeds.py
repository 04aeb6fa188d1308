"""The API's feeds: list them with how their polls went, add one, resume a paused one."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from broadsheet.services import feeds, newsletters
from web.api.routes import _body, bp
from web.api.serializers import feed_json
from web.db import session


def _slugs() -> dict[int, str]:
    """Newsletter slugs by id, read once for a whole list (no query per feed)."""
    return {n.id: n.slug for n in newsletters.list_newsletters(session())}


@bp.get("/feeds")
def list_feeds() -> ResponseReturnValue:
    slugs = _slugs()
    return jsonify(
        [feed_json(f, slugs.get(f.newsletter_id or 0)) for f in feeds.list_feeds(session())]
    )


@bp.post("/feeds")
def create_feed() -> ResponseReturnValue:
    """`url`, and optionally `newsletter` (a slug; default: the default newsletter) and
    `send_now` (default false: each new entry waits as a draft). Polled at beat's next run."""
    data = _body()
    feed = feeds.create_feed(
        session(), data.get("url"), newsletter=data.get("newsletter"),
        send_now=data.get("send_now", False),
    )  # fmt: skip
    return jsonify(feed_json(feed, _slugs().get(feed.newsletter_id or 0))), 201


@bp.post("/feeds/<int:feed_id>/resume")
def resume_feed(feed_id: int) -> ResponseReturnValue:
    """Poll a paused feed again, its failures forgotten."""
    feed = feeds.resume_feed(session(), feed_id)
    return jsonify(feed_json(feed, _slugs().get(feed.newsletter_id or 0)))
