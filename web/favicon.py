"""The site's icon: a letter B in the accent colour. Pages link the SVG
(web/static/favicon.svg); browsers, feed readers and bookmarks that ask for /favicon.ico by
that old name get the same drawing as an ICO, made from the SVG by scripts/favicon.py."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    app.add_url_rule("/favicon.ico", "favicon", lambda: app.send_static_file("favicon.ico"))
