"""gunicorn serving the Flask app built by `web.create_app`, started from code, not by name."""

from __future__ import annotations

from flask import Flask
from gunicorn.app.base import BaseApplication

from broadsheet.settings import Settings
from web import create_app


class WebServer(BaseApplication):  # type: ignore[misc]
    """gunicorn with the given options; each worker process builds its own app (no preload),
    so no connection is shared across a fork."""

    def __init__(self, settings: Settings, options: dict[str, object]) -> None:
        self.settings, self.options = settings, options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return create_app(self.settings)


def serve(settings: Settings, host: str, port: int, workers: int) -> None:
    """Serve until stopped (SIGINT or SIGTERM stop gunicorn gracefully)."""
    options: dict[str, object] = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "accesslog": "-",
        "control_socket_disable": True,
        "proc_name": "broadsheet-web",
    }
    WebServer(settings, options).run()
