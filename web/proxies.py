"""The client behind reverse proxies. With TRUSTED_PROXIES=N, the request's remote address is
the one the outermost of the N proxies saw (the Nth address from the end of X-Forwarded-For,
which each proxy appends to), so the per-client limits (signups, sign-ins) and the logs see
each client and not the proxy. Anything a client wrote further left in the header is not
read. With 0, the default, the header is ignored: without a proxy anyone could write it.

Only X-Forwarded-For is trusted: links and cookies follow PUBLIC_URL, never the request's
scheme or host, so X-Forwarded-Proto and X-Forwarded-Host change nothing and are not read."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from broadsheet.settings import Settings


def init_app(app: Flask, settings: Settings) -> None:
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # Werkzeug's documented way to wrap a Flask app
            app.wsgi_app, x_for=settings.trusted_proxies, x_proto=0, x_host=0, x_port=0, x_prefix=0
        )
