"""The open pixel and the click redirect, `/t/<token>.gif` and `/t/<token>/<index>`.

Neither waits on the database: the token is verified by its HMAC alone, a campaign's links
come from a per-process cache, and each hit is one RPUSH of a short line (its verdict made
here, so the agent and the address go no further) that the worker writes in batches
(worker/tracking.py). A bad token is never recorded; a click on one never redirects."""

from __future__ import annotations

import base64
import logging
import time

import redis
from flask import Blueprint, Flask, Response, abort, current_app, redirect, request
from flask.typing import ResponseReturnValue

from broadsheet.models import EngagementKind
from broadsheet.settings import Settings
from broadsheet.tracking.hits import HITS_KEY, Hit
from broadsheet.tracking.tokens import TrackingClaim, read_tracking_token, tracking_key
from broadsheet.tracking.verdicts import judge
from web.db import session
from web.extensions import redis_client
from web.tracking import cache

log = logging.getLogger(__name__)
bp = Blueprint("tracking", __name__)

# Where the pixel and the clicks are: kept out of the web's access log (cli/webserver.py).
TRACKING_PATHS = "/t/"
# A transparent 1x1 GIF, 43 bytes.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")
NO_STORE = {"Cache-Control": "no-store, private", "Pragma": "no-cache", "Expires": "0"}
# The answer to a click whose token is not ours: plain text, so nothing is read to make it.
FORGED = "This link is not valid: it was changed or is incomplete.\n"


def init_app(app: Flask) -> None:
    cache.init_app(app)
    app.register_blueprint(bp)
    # Imported here: fast.py builds on this module's record_hit and the routes' answers.
    from web.tracking.fast import TrackingPaths

    app.wsgi_app = TrackingPaths(app, app.wsgi_app)  # type: ignore[method-assign]  # Flask's documented way to wrap its WSGI app


def _settings() -> Settings:
    settings: Settings = current_app.config["BROADSHEET"]
    return settings


def _claim(token: str) -> TrackingClaim | None:
    return read_tracking_token(tracking_key(_settings().secret_key), token)


@bp.get("/t/<token>.gif")
def pixel(token: str) -> ResponseReturnValue:
    """The pixel, whatever the token: a mail client shows no broken image either way."""
    claim = _claim(token)
    if claim is not None:
        _record(claim, EngagementKind.OPEN, None, honeypot=False)
    return Response(PIXEL, mimetype="image/gif", headers=NO_STORE)


@bp.get("/t/<token>/<link>")
def click(token: str, link: str) -> ResponseReturnValue:
    """A 302 to the campaign's link at `index`; 400 (plain text) for a token that is not
    ours, 404 for an index the campaign has no link at. The index one past the last is the
    honeypot: it leads to the publication's front page."""
    claim = _claim(token)
    if claim is None:  # a forgery costs no database read: not even the error page's
        return Response(FORGED, 400, mimetype="text/plain", headers=NO_STORE)
    # Not `<int:...>`: that is for row ids (web/ids.py), and a link's index starts at 0.
    index = int(link) if link.isascii() and link.isdigit() and len(link) <= 6 else -1
    links = cache.link_cache().links(session, claim.campaign_id)
    if links is None or not 0 <= index <= len(links):
        abort(404, description="this link does not lead anywhere in this newsletter")
    honeypot = index == len(links)
    _record(claim, EngagementKind.CLICK, index, honeypot=honeypot)
    target = f"{_settings().public_url}/" if honeypot else links[index]
    response = redirect(target, 302)
    response.headers.update(NO_STORE)
    return response


def _record(
    claim: TrackingClaim, kind: EngagementKind, index: int | None, *, honeypot: bool
) -> None:
    record_hit(
        redis_client(), _settings(), claim, kind, index, honeypot=honeypot,
        method=request.method, agent=request.headers.get("User-Agent", ""),
    )  # fmt: skip


def record_hit(
    client: redis.Redis, settings: Settings, claim: TrackingClaim, kind: EngagementKind,
    index: int | None, *, honeypot: bool, method: str, agent: str,
) -> None:  # fmt: skip
    """Append the hit for the worker to write. A HEAD (a scanner) is never an open or a
    click, and nothing is kept with TRACKING=off; a Redis that cannot be reached costs the
    count, never the reader's image or redirect."""
    if method == "HEAD" or not settings.tracking:
        return
    now = time.time()
    verdict = judge(
        click=kind is EngagementKind.CLICK,
        method=method,
        agent=agent,
        seconds_since_send=now - claim.sent_at,
        honeypot=honeypot,
    )
    hit = Hit(
        kind, claim.campaign_id, claim.delivery_id, index, verdict.human, verdict.reason,
        int(now * 1000),
    )  # fmt: skip
    try:
        client.rpush(HITS_KEY, hit.encode())
    except redis.RedisError as exc:
        log.warning(
            "tracking: a %s of campaign %s was not counted: %s", kind, claim.campaign_id, exc
        )
