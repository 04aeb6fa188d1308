"""The pixel and the click answered before Flask when all is well: a valid token and, for a
click, a link the campaign has. A pixel or a click is a mail client's request, not a page:
Flask's request context, session, sign-in and hooks are most of its cost at 500 a second.
Anything else (a bad token, an unknown index, another method) goes on to the Flask routes
(web/tracking/__init__.py), which answer it with their pages; so the answers are the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from broadsheet.models import EngagementKind
from broadsheet.settings import Settings
from broadsheet.tracking.tokens import read_tracking_token, tracking_key
from web.extensions import REDIS
from web.tracking import NO_STORE, PIXEL, TRACKING_PATHS, record_hit
from web.tracking.cache import CACHE, LinkCache

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

_PIXEL_HEADERS = [("Content-Type", "image/gif"), ("Content-Length", str(len(PIXEL)))]
_NO_STORE = list(NO_STORE.items())


class TrackingPaths:
    """WSGI: `/t/<token>.gif` and `/t/<token>/<index>` served here, the rest by `inner`."""

    def __init__(self, app: Flask, inner: WSGIApplication) -> None:
        self.inner, self.app = inner, app
        self.key = tracking_key(self._settings().secret_key)

    def _settings(self) -> Settings:
        settings: Settings = self.app.config["BROADSHEET"]
        return settings

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO", "")
        method: str = environ.get("REQUEST_METHOD", "")
        if path.startswith(TRACKING_PATHS) and method in ("GET", "HEAD"):
            answered = self._answer(path[len(TRACKING_PATHS) :], method, environ, start_response)
            if answered is not None:
                return answered
        return self.inner(environ, start_response)

    def _answer(
        self, rest: str, method: str, environ: WSGIEnvironment, start_response: StartResponse
    ) -> list[bytes] | None:
        token, slash, link = rest.partition("/")
        agent = environ.get("HTTP_USER_AGENT", "")
        redis = self.app.extensions[REDIS]
        if not slash and token.endswith(".gif"):
            claim = read_tracking_token(self.key, token.removesuffix(".gif"))
            if claim is None:
                return None
            record_hit(
                redis, self._settings(), claim, EngagementKind.OPEN, None,
                honeypot=False, method=method, agent=agent,
            )  # fmt: skip
            start_response("200 OK", _PIXEL_HEADERS + _NO_STORE)
            return [] if method == "HEAD" else [PIXEL]
        if not (slash and link.isascii() and link.isdigit() and len(link) <= 6):
            return None
        claim = read_tracking_token(self.key, token)
        if claim is None:
            return None
        links = self._links(claim.campaign_id)
        index = int(link)
        if links is None or index > len(links):
            return None
        honeypot = index == len(links)
        record_hit(
            redis, self._settings(), claim, EngagementKind.CLICK, index,
            honeypot=honeypot, method=method, agent=agent,
        )  # fmt: skip
        target = f"{self._settings().public_url}/" if honeypot else links[index]
        start_response("302 Found", [("Location", target), ("Content-Length", "0"), *_NO_STORE])
        return []

    def _links(self, campaign_id: int) -> tuple[str, ...] | None:
        cache: LinkCache = self.app.extensions[CACHE]
        sessions: sessionmaker[Session] = self.app.extensions["broadsheet.sessions"]
        opened: list[Session] = []

        def session() -> Session:
            opened.append(sessions())
            return opened[-1]

        try:
            return cache.links(session, campaign_id)
        finally:
            for db in opened:
                db.close()
