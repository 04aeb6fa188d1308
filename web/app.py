"""The application factory: a list of small `register_*` steps."""

from __future__ import annotations

from flask import Flask

from broadsheet.settings import Settings, load_settings
from web import (
    admin,
    api,
    db,
    errors,
    extensions,
    favicon,
    ids,
    metrics,
    nul,
    probes,
    proxies,
    public,
    request_json,
    tracking,
    webhooks,
)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app from `settings` (default: read from the environment)."""
    settings = settings or load_settings()
    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        BROADSHEET=settings,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_url.startswith("https://"),
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=False,
    )
    db.init_app(app, settings)
    extensions.init_app(app, settings)
    ids.init_app(app)
    nul.init_app(app)
    request_json.init_app(app)
    favicon.init_app(app)
    probes.init_app(app)
    metrics.init_app(app)
    public.init_app(app)
    tracking.init_app(app)
    api.init_app(app)
    webhooks.init_app(app)
    admin.init_app(app)
    errors.init_app(app)
    proxies.init_app(app, settings)  # last: it wraps everything above
    return app


def dispose(app: Flask) -> None:
    """Close the app's database pool and Redis client (a test or a tool done with the app)."""
    app.extensions["broadsheet.engine"].dispose()
    app.extensions[extensions.REDIS].close()
