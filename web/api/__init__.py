"""The JSON API under /api/v1, for scripts and other systems; bearer tokens, not cookies."""

from __future__ import annotations

from flask import Flask

from web.api import feeds, newsletters, segments  # noqa: F401  (their routes join the blueprint)
from web.api.routes import bp
from web.extensions import csrf


def init_app(app: Flask) -> None:
    csrf.exempt(bp)  # bearer tokens, not cookies: cross-site requests cannot ride on them
    app.register_blueprint(bp)
