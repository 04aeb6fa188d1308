"""JSON request bodies: one nested too deeply for the parser (it recurses, and Python's
recursion has a limit) is invalid JSON like any other, not a crash. Flask parses bodies with
`app.json`, so `request.get_json(silent=True)` answers None for it too."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider


class JSONProvider(DefaultJSONProvider):
    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("it is nested too deeply") from None


def init_app(app: Flask) -> None:
    app.json = JSONProvider(app)
